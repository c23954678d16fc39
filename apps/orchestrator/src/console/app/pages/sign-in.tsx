import { useContext, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { setToken } from '../session';
import { AlertContext, Field, Heading } from '../ui';

/** Paste an admin JWT; it is checked against GET /v1/admin/stats before it is kept. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const alert = useContext(AlertContext);
  const [token, setTokenValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (!value) return;
    setBusy(true);
    try {
      await api.get('/v1/admin/stats', value);
      setToken(value);
      alert(null);
      onSignedIn();
    } catch (error) {
      const problem = error instanceof ApiError ? error.problem : { title: 'Sign-in failed', status: 0 };
      if (problem.status === 403) alert({ ...problem, title: 'This is not an admin token', detail: 'the console needs a token with the admin role' });
      else if (problem.status === 401) alert({ ...problem, title: 'This token is invalid or expired', detail: problem.detail });
      else alert(problem);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="sign-in">
      <Heading>Sign in</Heading>
      <p>
        Paste an admin token (<code>make token SUB=ops ROLE=admin</code>). It stays in this tab only.
      </p>
      <form onSubmit={submit} data-testid="sign-in-form">
        <Field label="Admin token (JWT)">
          {(id) => (
            <textarea
              id={id}
              rows={4}
              required
              autoComplete="off"
              spellcheck={false}
              value={token}
              onInput={(e) => setTokenValue(e.currentTarget.value)}
              data-testid="token-input"
            />
          )}
        </Field>
        <button type="submit" disabled={busy} data-testid="sign-in">
          Sign in
        </button>
      </form>
    </section>
  );
}
