import { useState } from 'preact/hooks';
import { Field } from './ui';

/** Asks for the reason an operator cancels (or discards) something; submits it, or closes. */
export function ReasonForm({
  label,
  submit,
  onSubmit,
  onClose,
  testid,
}: {
  label: string;
  submit: string;
  onSubmit: (reason: string) => void;
  onClose: () => void;
  testid: string;
}) {
  const [reason, setReason] = useState('');
  return (
    <form
      class="reason"
      data-testid={testid}
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim()) onSubmit(reason.trim());
      }}
    >
      <Field label={label}>
        {(id) => <input id={id} required autoFocus value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid={`${testid}-reason`} />}
      </Field>
      <button type="submit" class="danger" data-testid={`${testid}-submit`}>
        {submit}
      </button>
      <button type="button" class="secondary" onClick={onClose}>
        Keep it
      </button>
    </form>
  );
}
