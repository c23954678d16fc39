// The orderflow operators' console: sign in with an admin token, then the overview, sagas, dead
// letters, products and the audit log, all over the admin REST API of the server that serves it.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler, type Problem } from './api';
import { AuditPage } from './pages/audit';
import { DeadLettersPage } from './pages/dead-letters';
import { OverviewPage } from './pages/overview';
import { ProductsPage } from './pages/products';
import { SagaPage } from './pages/saga';
import { SagasPage } from './pages/sagas';
import { SignIn } from './pages/sign-in';
import { BASE, onLinkClick, useLocation } from './router';
import { clearToken, getToken } from './session';
import { AlertContext, AlertRegion } from './ui';
import './app.css';

const NAV = [
  { href: '/', label: 'Overview', testid: 'nav-overview' },
  { href: '/sagas', label: 'Sagas', testid: 'nav-sagas' },
  { href: '/dead-letters', label: 'Dead letters', testid: 'nav-dead-letters' },
  { href: '/products', label: 'Products', testid: 'nav-products' },
  { href: '/audit', label: 'Audit', testid: 'nav-audit' },
];

function Page({ path }: { path: string }) {
  const saga = /^\/sagas\/([^/]+)$/.exec(path);
  if (saga) return <SagaPage orderId={decodeURIComponent(saga[1]!)} />;
  switch (path) {
    case '/':
      return <OverviewPage />;
    case '/sagas':
      return <SagasPage />;
    case '/dead-letters':
      return <DeadLettersPage />;
    case '/products':
      return <ProductsPage />;
    case '/audit':
      return <AuditPage />;
    default:
      return <p data-testid="not-found">There is no page {path} in the console.</p>;
  }
}

function App() {
  const { path } = useLocation();
  const [signedIn, setSignedIn] = useState(() => getToken() !== null);
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    setUnauthorizedHandler((p) => {
      clearToken();
      setSignedIn(false);
      setProblem({ ...p, title: 'Your session ended', detail: p.detail ?? 'the token is invalid or expired; sign in again' });
    });
  }, []);
  useEffect(() => setProblem(null), [path]);
  const signOut = () => {
    clearToken();
    setSignedIn(false);
    setProblem(null);
  };
  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <AlertContext.Provider value={setProblem}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">orderflow console</span>
        {signedIn && (
          <>
            <nav aria-label="Main" onClick={onLinkClick}>
              {NAV.map((n) => (
                <a key={n.href} href={BASE + n.href} data-testid={n.testid} aria-current={section === n.href ? 'page' : undefined}>
                  {n.label}
                </a>
              ))}
            </nav>
            <button type="button" class="secondary" onClick={signOut} data-testid="sign-out">
              Sign out
            </button>
          </>
        )}
      </header>
      <main id="main" onClick={onLinkClick}>
        <AlertRegion problem={problem} />
        {signedIn ? <Page path={path} /> : <SignIn onSignedIn={() => setSignedIn(true)} />}
      </main>
    </AlertContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
