// Small pieces every page uses: the alert region, formatting, labelled fields, a cursor pager.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Problem } from './api';

/** Shows a problem (or clears it) in the page's alert region. */
export const AlertContext = createContext<(problem: Problem | null) => void>(() => undefined);

export function AlertRegion({ problem }: { problem: Problem | null }) {
  return (
    <div role="alert" data-testid="alert" class={problem ? 'alert' : 'alert empty'}>
      {problem && (
        <>
          <strong>{problem.title}</strong>
          {problem.detail && <span>: {problem.detail}</span>}
        </>
      )}
    </div>
  );
}

/**
 * Runs an API call, reporting its failure in the alert region; resolves undefined when it failed. A
 * success clears the alert unless `clear` is false (a page's reload after an action keeps the action's problem shown).
 */
export function useApiCall() {
  const alert = useContext(AlertContext);
  return useCallback(
    async <T,>(call: () => Promise<T>, clear = true): Promise<T | undefined> => {
      try {
        const result = await call();
        if (clear) alert(null);
        return result;
      } catch (error) {
        alert(error instanceof ApiError ? error.problem : { title: 'Something went wrong', status: 0, detail: String(error) });
        return undefined;
      }
    },
    [alert],
  );
}

/** Loads once per change of `deps`, and again every `refreshMs` if given; a load that works again clears the problem its failure showed. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): [T | undefined, () => void] {
  const call = useApiCall();
  const [data, setData] = useState<T>();
  const [tick, setTick] = useState(0);
  const failed = useRef(false);
  useEffect(() => {
    let live = true;
    const run = () =>
      void call(load, failed.current).then((d) => {
        failed.current = d === undefined;
        if (live && d !== undefined) setData(d);
      });
    run();
    const timer = refreshMs ? setInterval(run, refreshMs) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [...deps, tick]);
  return [data, () => setTick((t) => t + 1)];
}

export const money = (cents: number) => (cents / 100).toFixed(2);
const pad = (n: number) => String(n).padStart(2, '0');
/** Local time as YYYY-MM-DD HH:MM:SS (sortable, unambiguous). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
/** A datetime-local input's value as an ISO date-time (it is local time), or undefined when empty. */
export const isoFromLocal = (value: string) => (value ? new Date(value).toISOString() : undefined);

let ids = 0;
/** A label with its control (input, select, textarea), linked by id. */
export function Field({ label, children, hint }: { label: string; children: (id: string) => ComponentChildren; hint?: string }) {
  const id = useRef(`f${++ids}`).current;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(id)}
      {hint && <small>{hint}</small>}
    </div>
  );
}

/** Page heading that takes focus when the page opens, so keyboard and screen-reader users land on it. */
export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** Cursor paging: the cursor of the page shown, and the ones before it for "Previous". */
export function usePager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  return {
    cursor: stack.at(-1) ?? null,
    page: stack.length,
    next: (cursor: string) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}

/**
 * A page's filter form: its fields edit `form`; submitting it puts `form` in force as `filters`, from
 * the first page again (`onApply` clears whatever was shown for the previous filters).
 */
export function useFilterForm<F extends Record<string, string>>(empty: F, pager: ReturnType<typeof usePager>, onApply?: () => void) {
  const [form, setForm] = useState(empty);
  const [filters, setFilters] = useState(empty);
  const set = (name: keyof F) => (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });
  const apply = (event: Event) => {
    event.preventDefault();
    pager.reset();
    onApply?.();
    setFilters({ ...form });
  };
  return { form, filters, set, apply };
}

export function Pager({ pager, nextCursor, testid }: { pager: ReturnType<typeof usePager>; nextCursor: string | null | undefined; testid: string }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={pager.page === 1} onClick={pager.previous} data-testid={`${testid}-previous`}>
        Previous page
      </button>
      <span>Page {pager.page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && pager.next(nextCursor)} data-testid={`${testid}-next`}>
        Next page
      </button>
    </nav>
  );
}

export const Badge = ({ value }: { value: string | null | undefined }) => <span class={`badge badge-${(value ?? 'none').toLowerCase()}`}>{value ?? '—'}</span>;
