/** The app shell: navigation, header, theme, and the current screen. */
import {
  FluentProvider,
  Button,
  Tooltip,
  Text,
  Caption1,
  makeStyles,
  tokens,
  mergeClasses,
} from '@fluentui/react-components';
import {
  HeartPulseRegular,
  MailMultipleRegular,
  PlugConnectedRegular,
  SendRegular,
  MailInboxRegular,
  TextBulletListSquareRegular,
  WrenchRegular,
  WeatherMoonRegular,
  WeatherSunnyRegular,
} from '@fluentui/react-icons';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type MouseEvent, type ReactElement } from 'react';
import { api } from '../api/client';
import { useThemeChoice } from './theme';
import { MailboxesPage } from '../features/mailboxes/MailboxesPage';
import { ConnectionTestsPage } from '../features/connection-test/ConnectionTestsPage';
import { LogsPage } from '../features/logs/LogsPage';
import { BundleBanner, DiagnosticsMenu, useViewState } from '../features/diagnostics/Diagnostics';
import { ComingSoon } from '../features/placeholder/ComingSoon';
import { InboxPage } from '../features/inbox/InboxPage';
import { SiteSetupPage } from '../features/site-setup/SiteSetupPage';
import { OutboxPage } from '../features/outbox/OutboxPage';
import { HealthPage } from '../features/health/HealthPage';
import { arrowKeys } from '../components/arrow-keys';
import { ReadOnlyProvider } from '../components/read-only';

type Route = 'health' | 'mailboxes' | 'tests' | 'outbox' | 'inbox' | 'logs' | 'site';

const NAV: { id: Route; label: string; icon: ReactElement }[] = [
  { id: 'health', label: 'Mail flow', icon: <HeartPulseRegular /> },
  { id: 'mailboxes', label: 'Mailboxes', icon: <MailMultipleRegular /> },
  { id: 'tests', label: 'Connection tests', icon: <PlugConnectedRegular /> },
  { id: 'outbox', label: 'Outbox', icon: <SendRegular /> },
  { id: 'inbox', label: 'Inbox', icon: <MailInboxRegular /> },
  { id: 'logs', label: 'Logs', icon: <TextBulletListSquareRegular /> },
  { id: 'site', label: 'Site setup', icon: <WrenchRegular /> },
];

const useStyles = makeStyles({
  // Header; then the navigation beside an open bundle's banner (when there is one) over the screen. The banner has a row
  // of its own: inside the scrolling screen it covered what scrolled under it.
  root: { height: '100vh', display: 'grid', gridTemplateColumns: '220px minmax(0, 1fr)', gridTemplateRows: '48px auto minmax(0, 1fr)', backgroundColor: tokens.colorNeutralBackground2 },
  banner: { gridColumn: '2', gridRow: '2', minWidth: 0 },
  header: {
    gridColumn: '1 / 3',
    display: 'flex',
    alignItems: 'center',
    gap: '12px',
    padding: '0 12px 0 16px',
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  brand: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400 },
  spacer: { flex: 1 },
  // Full white on the brand colour: at 85 % opacity small text fell below 4.5:1.
  headerMeta: { color: tokens.colorNeutralForegroundOnBrand, minWidth: 0, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  nav: { gridRow: '2 / 4', display: 'flex', flexDirection: 'column', gap: '2px', padding: '8px', borderRight: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: tokens.colorNeutralBackground1 },
  navItem: { justifyContent: 'flex-start', fontWeight: tokens.fontWeightRegular },
  navActive: { backgroundColor: tokens.colorNeutralBackground1Selected, fontWeight: tokens.fontWeightSemibold },
  main: { gridColumn: '2', gridRow: '3', overflow: 'auto', minWidth: 0, outline: 'none' },
  // Off screen until focused: the first Tab stop of every screen (WCAG 2.4.1).
  skipLink: {
    position: 'absolute',
    left: '8px',
    top: '-100px',
    zIndex: 100,
    padding: '8px 12px',
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorNeutralBackground1,
    color: tokens.colorBrandForegroundLink,
    ':focus': { top: '8px', outline: `2px solid ${tokens.colorStrokeFocus2}`, boxShadow: tokens.shadow16 },
  },
  themeButton: { color: tokens.colorNeutralForegroundOnBrand },
});

function currentRoute(): Route {
  const id = location.hash.replace(/^#\/?/, '').split('/')[0] as Route;
  // The overview is the first screen.
  return NAV.some((n) => n.id === id) ? id : 'health';
}

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });

function Shell({ themeName, setTheme }: { themeName: 'light' | 'dark'; setTheme: (t: 'light' | 'dark') => void }) {
  const s = useStyles();
  const [route, setRoute] = useState<Route>(currentRoute);
  const info = useQuery({ queryKey: ['app.info'], queryFn: () => api.app.info({}) });
  const view = useViewState();

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // Live updates: any engine change refreshes the affected queries.
  useEffect(() => api.transport.on('mailboxes.changed', () => void queryClient.invalidateQueries({ queryKey: ['mailboxes'] })), []);

  const go = (id: Route) => {
    location.hash = `#/${id}`;
    setRoute(id);
  };

  const skipToMain = (event: MouseEvent) => {
    event.preventDefault();
    document.getElementById('main-content')?.focus();
  };

  return (
    <div className={s.root}>
      <a className={s.skipLink} href="#main-content" onClick={skipToMain} data-region="skip">
        Skip to main content
      </a>
      <header className={s.header}>
        <Text className={s.brand}>Mailroom</Text>
        <Caption1 className={s.headerMeta}>
          {info.data ? `${info.data.runtime === 'electron' ? 'Desktop' : 'Browser console'} · v${info.data.version}` : ''}
        </Caption1>
        <span className={s.spacer} />
        <Caption1 className={s.headerMeta} title={view.data?.bundle ? undefined : info.data?.dataDir}>
          {view.data?.bundle ? `Showing ${view.data.bundle.fileName} (read-only)` : info.data ? `Data: ${info.data.dataDir}` : ''}
        </Caption1>
        <DiagnosticsMenu />
        <Tooltip content={themeName === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'} relationship="label">
          <Button
            appearance="transparent"
            className={s.themeButton}
            icon={themeName === 'dark' ? <WeatherSunnyRegular /> : <WeatherMoonRegular />}
            onClick={() => setTheme(themeName === 'dark' ? 'light' : 'dark')}
          />
        </Tooltip>
      </header>
      <nav className={s.nav} aria-label="Sections" onKeyDown={arrowKeys('vertical')}>
        {NAV.map((item) => (
          <Button
            key={item.id}
            appearance="subtle"
            icon={item.icon}
            className={mergeClasses(s.navItem, route === item.id && s.navActive)}
            aria-current={route === item.id ? 'page' : undefined}
            onClick={() => go(item.id)}
          >
            {item.label}
          </Button>
        ))}
      </nav>
      <div className={s.banner}>
        <BundleBanner />
      </div>
      <main className={s.main} id="main-content" tabIndex={-1}>
        <ReadOnlyProvider readOnly={view.data?.mode === 'bundle'} asOf={view.data?.bundle?.createdAt ?? null}>
          {route === 'health' && <HealthPage />}
          {route === 'mailboxes' && <MailboxesPage />}
          {route === 'tests' && <ConnectionTestsPage key={location.hash} />}
          {route === 'outbox' && <OutboxPage />}
          {route === 'inbox' && <InboxPage />}
          {route === 'logs' && <LogsPage />}
          {route === 'site' && <SiteSetupPage />}
        </ReadOnlyProvider>
      </main>
    </div>
  );
}

export function App() {
  const [themeName, theme, setTheme] = useThemeChoice();
  return (
    <FluentProvider theme={theme} style={{ height: '100vh' }}>
      <QueryClientProvider client={queryClient}>
        <Shell themeName={themeName} setTheme={setTheme} />
      </QueryClientProvider>
    </FluentProvider>
  );
}
