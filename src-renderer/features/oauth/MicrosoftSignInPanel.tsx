/**
 * The Microsoft sign-in panel of a mailbox: token health (account, scopes,
 * expiry, last refresh, last error), "Sign in with Microsoft" (the first
 * time) or "Sign in again" (the one name of the action everywhere: hints,
 * the CLI, the README) with progress and cancel, what waits for the sign-in,
 * a token check, and sign-out.
 * The browser console opens the sign-in page in a new tab; the desktop app
 * asks the engine to open the system browser.
 */
import {
  Button,
  Caption1,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Link,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Subtitle2,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { ArrowClockwiseRegular, CopyRegular, PersonArrowRightRegular, SettingsRegular, SignOutRegular, StethoscopeRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { Mailbox } from '../../../src-main/shared/mailbox.js';
import type { SignInStatus, TokenHealth } from '../../../src-main/shared/oauth.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { OAuthSettingsDialog } from './OAuthSettingsDialog';
import { TokenDoctorDialog } from './TokenDoctorDialog';

import { ChangeButton } from '../../components/read-only';
const useStyles = makeStyles({
  panel: { display: 'flex', flexDirection: 'column', gap: '8px', borderTop: `1px solid ${tokens.colorNeutralStroke2}`, paddingTop: '12px' },
  row: { display: 'flex', gap: '8px', alignItems: 'center', flexWrap: 'wrap' },
  dl: { display: 'grid', gridTemplateColumns: '110px 1fr', gap: '4px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, wordBreak: 'break-word' },
  scopes: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
  muted: { color: tokens.colorNeutralForeground3 },
  // Long error texts (a URL, a host name with a port) wrap instead of running off the panel.
  message: { overflowWrap: 'anywhere', minWidth: 0 },
  detail: { display: 'block', overflowWrap: 'anywhere' },
});

const HEALTH_LOOK: Record<TokenHealth['state'], { kind: StatusKind; label: string }> = {
  'signed-in': { kind: 'success', label: 'Signed in' },
  'sign-in-required': { kind: 'error', label: 'Sign-in needed' },
  'not-signed-in': { kind: 'warning', label: 'Not signed in' },
};

function LocalTime({ ms }: { ms: number | null }) {
  if (ms === null) return <>never</>;
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const utc = `UTC${sign}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  return <time dateTime={d.toISOString()} title={`${d.toISOString()} (${utc})`}>{d.toLocaleString()}</time>;
}

/** Shortens an Exchange Online scope URL to its permission name. */
const scopeName = (s: string) => s.replace(/^https:\/\/outlook\.office(365)?\.com\//i, '');

export function MicrosoftSignInPanel({ mailbox }: { mailbox: Mailbox }) {
  const s = useStyles();
  const queryClient = useQueryClient();
  const health = useQuery({ queryKey: ['oauth.health', mailbox.id], queryFn: () => api.oauth.health({ mailboxId: mailbox.id }) });
  const states = useQuery({ queryKey: ['oauth.states'], queryFn: () => api.oauth.states({}) });
  const waitingMessages = states.data?.find((x) => x.mailboxId === mailbox.id)?.waitingMessages ?? 0;
  const settings = useQuery({ queryKey: ['oauth.settings'], queryFn: () => api.oauth.settingsGet({}) });
  const [signIn, setSignIn] = useState<SignInStatus>();
  const [allowOther, setAllowOther] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<'check' | 'logout'>();
  const [confirmLogout, setConfirmLogout] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [doctorOpen, setDoctorOpen] = useState(false);
  const [now, setNow] = useState(Date.now());
  const tab = useRef<Window | null>(null);

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['oauth.states'] });
    return queryClient.invalidateQueries({ queryKey: ['oauth.health', mailbox.id] });
  };

  // Live updates: the engine announces the end of a sign-in and every change of token health.
  useEffect(() => {
    const offFinished = api.transport.on('oauth.signInFinished', (payload) => {
      const status = payload as SignInStatus;
      if (status.mailboxId === mailbox.id) setSignIn((cur) => (cur && cur.signInId === status.signInId ? status : cur));
    });
    const offChanged = api.transport.on('oauth.changed', (payload) => {
      if ((payload as { mailboxId: number }).mailboxId === mailbox.id) void refresh();
    });
    return () => {
      offFinished();
      offChanged();
    };
  }, [mailbox.id]);

  // While waiting: a countdown, and a status poll in case an event was missed.
  const waiting = signIn && (signIn.state === 'waiting' || signIn.state === 'exchanging');
  useEffect(() => {
    if (!waiting || !signIn) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      void api.oauth.signInStatus({ signInId: signIn.signInId }).then(setSignIn, () => undefined);
    }, 1500);
    return () => clearInterval(timer);
  }, [waiting, signIn?.signInId]);
  useEffect(() => {
    if (signIn && !waiting) void refresh();
  }, [signIn?.state]);

  const begin = async () => {
    setError(undefined);
    const electron = api.transport.kind === 'electron';
    // A tab opened inside the click survives popup blockers; it gets the address once the engine has it.
    if (!electron) tab.current = window.open('', '_blank');
    try {
      const status = await api.oauth.beginSignIn({ mailboxId: mailbox.id, allowOtherAccount: allowOther, openBrowser: electron });
      setSignIn(status);
      if (!electron) {
        if (tab.current && !tab.current.closed) {
          tab.current.opener = null;
          tab.current.location.href = status.url;
        } else tab.current = window.open(status.url, '_blank', 'noopener');
      }
    } catch (e) {
      tab.current?.close();
      setError(e);
    }
  };
  const cancel = async () => {
    if (!signIn) return;
    try {
      setSignIn(await api.oauth.cancelSignIn({ signInId: signIn.signInId }));
    } catch (e) {
      setError(e);
    }
  };
  const check = async () => {
    setBusy('check');
    setError(undefined);
    try {
      queryClient.setQueryData(['oauth.health', mailbox.id], await api.oauth.checkToken({ mailboxId: mailbox.id }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const logout = async () => {
    setBusy('logout');
    try {
      queryClient.setQueryData(['oauth.health', mailbox.id], await api.oauth.logout({ mailboxId: mailbox.id }));
      setConfirmLogout(false);
      setSignIn(undefined);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const h = health.data;
  const look = h ? HEALTH_LOOK[h.state] : undefined;
  const configured = settings.data?.configured;
  const secondsLeft = signIn ? Math.max(0, Math.round((signIn.deadline - now) / 1000)) : 0;

  return (
    <section className={s.panel} aria-label="Microsoft 365 sign-in">
      <div className={s.row}>
        <Subtitle2>Microsoft 365 sign-in</Subtitle2>
        {look && <StatusBadge kind={look.kind} label={look.label} />}
      </div>

      {settings.data && !configured && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>Microsoft 365 sign-in is not set up</MessageBarTitle>
            Mailroom needs your organisation’s app registration (tenant and client id) once.
          </MessageBarBody>
        </MessageBar>
      )}

      {h && (
        <dl className={s.dl}>
          <dt className={s.dt}>Account</dt>
          <dd className={s.dd} data-testid="oauth-account">
            {h.account ? `${h.account}${h.accountName ? ` (${h.accountName})` : ''}` : `not signed in (expected ${h.expectedAccount})`}
            {h.otherAccountAllowed && <Caption1 className={s.muted}> · allowed for {h.expectedAccount}</Caption1>}
          </dd>
          {h.state !== 'not-signed-in' && (
            <>
              <dt className={s.dt}>Scopes</dt>
              <dd className={`${s.dd} ${s.scopes}`}>{h.scopes.map(scopeName).join(', ') || 'none'}</dd>
              {h.missingScopes.length > 0 && (
                <>
                  <dt className={s.dt}>Missing</dt>
                  <dd className={s.dd}>
                    <StatusBadge kind="warning" label={h.missingScopes.map(scopeName).join(', ')} title="Grant these permissions in the app registration and sign in again" />
                  </dd>
                </>
              )}
              <dt className={s.dt}>Token expires</dt>
              <dd className={s.dd} data-testid="oauth-token-expires">
                <LocalTime ms={h.accessTokenExpiresAt} />{' '}
                {/* Only a working sign-in refreshes its tokens: after a failure nothing does until someone signs in again. */}
                <Caption1 className={s.muted}>{h.state === 'signed-in' ? '(refreshed automatically)' : '(not refreshed until someone signs in again)'}</Caption1>
              </dd>
              <dt className={s.dt}>Last refresh</dt>
              <dd className={s.dd}>
                <LocalTime ms={h.lastRefreshAt} />
              </dd>
              <dt className={s.dt}>Signed in</dt>
              <dd className={s.dd}>
                <LocalTime ms={h.signedInAt} />
              </dd>
            </>
          )}
        </dl>
      )}

      {h && h.state !== 'signed-in' && waitingMessages > 0 && (
        <MessageBar intent="warning" layout="multiline" data-testid="oauth-waiting-mail">
          <MessageBarBody className={s.message}>
            {waitingMessages} outgoing message{waitingMessages === 1 ? '' : 's'} wait{waitingMessages === 1 ? 's' : ''} for this sign-in, spending no tries. {waitingMessages === 1 ? 'It is' : 'They are'} sent as soon as the mailbox is signed in.
          </MessageBarBody>
        </MessageBar>
      )}

      {h?.lastError && (
        <MessageBar intent={h.state === 'sign-in-required' ? 'error' : 'warning'} layout="multiline" role="alert">
          <MessageBarBody className={s.message}>
            <MessageBarTitle>{h.lastError.message}</MessageBarTitle>
            {h.lastError.hint && <div>{h.lastError.hint}</div>}
            <Caption1>
              Code: {h.lastError.code} · <LocalTime ms={h.lastError.at} />
            </Caption1>
          </MessageBarBody>
        </MessageBar>
      )}

      {waiting && signIn && (
        <MessageBar intent="info" layout="multiline" role="status">
          <MessageBarBody>
            <div className={s.row}>
              <Spinner size="tiny" />
              <span>
                {signIn.state === 'exchanging' ? 'Microsoft answered; storing the sign-in…' : `Waiting for Microsoft: finish signing in in the browser (${secondsLeft} s left).`}
              </span>
            </div>
            <div className={s.row}>
              <Link href={signIn.url} target="_blank" rel="noreferrer">
                Open the sign-in page again
              </Link>
              <Button size="small" appearance="transparent" icon={<CopyRegular />} onClick={() => void navigator.clipboard?.writeText(signIn.url)}>
                Copy address
              </Button>
            </div>
            {signIn.rejectedResponses > 0 && <Caption1>Ignored {signIn.rejectedResponses} answer(s) that belonged to another sign-in.</Caption1>}
          </MessageBarBody>
        </MessageBar>
      )}
      {signIn && signIn.state === 'succeeded' && (
        <MessageBar intent="success" role="status">
          <MessageBarBody>Signed in as {signIn.account}.</MessageBarBody>
        </MessageBar>
      )}
      {signIn && signIn.error && !waiting && (
        <MessageBar intent={signIn.state === 'cancelled' ? 'info' : 'error'} layout="multiline" role="alert">
          <MessageBarBody className={s.message}>
            <MessageBarTitle>{signIn.error.message}</MessageBarTitle>
            {signIn.error.hint && <div>{signIn.error.hint}</div>}
            <Caption1>Code: {signIn.error.code}</Caption1>
            {signIn.error.detail && <Caption1 className={s.detail}>Detail: {signIn.error.detail}</Caption1>}
          </MessageBarBody>
        </MessageBar>
      )}
      <ErrorBar error={error} />

      <div className={s.row}>
        {waiting ? (
          <Button onClick={() => void cancel()}>Cancel sign-in</Button>
        ) : (
          <ChangeButton channel="oauth.beginSignIn" appearance="primary" icon={<PersonArrowRightRegular />} onClick={() => void begin()} disabled={!configured}>
            {h && h.state !== 'not-signed-in' ? 'Sign in again' : 'Sign in with Microsoft'}
          </ChangeButton>
        )}
        {h?.state !== 'not-signed-in' && !waiting && (
          <ChangeButton channel="oauth.checkToken" icon={<ArrowClockwiseRegular />} onClick={() => void check()} disabled={busy === 'check'}>
            {busy === 'check' ? 'Checking…' : 'Check token'}
          </ChangeButton>
        )}
        {h?.state !== 'not-signed-in' && !waiting && (
          <ChangeButton channel="oauth.doctor" icon={<StethoscopeRegular />} onClick={() => setDoctorOpen(true)}>
            Token doctor
          </ChangeButton>
        )}
        {h?.state !== 'not-signed-in' && !waiting && (
          <ChangeButton channel="oauth.logout" icon={<SignOutRegular />} onClick={() => setConfirmLogout(true)}>
            Sign out
          </ChangeButton>
        )}
        <ChangeButton channel="oauth.settingsSave" appearance="subtle" icon={<SettingsRegular />} onClick={() => setSettingsOpen(true)}>
          {configured ? 'App registration' : 'Set up Microsoft 365 sign-in'}
        </ChangeButton>
      </div>
      {!waiting && (
        <Checkbox
          checked={allowOther}
          onChange={(_e, d) => setAllowOther(Boolean(d.checked))}
          label={`Allow another account (a user with Full Access to ${mailbox.address}, for a shared mailbox)`}
        />
      )}
      <Caption1 className={s.muted}>The sign-in name (UPN) can differ from the email address; if it does, set it as the IMAP and SMTP user name first.</Caption1>

      <Dialog open={confirmLogout} onOpenChange={(_e, d) => !d.open && setConfirmLogout(false)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Sign {mailbox.name} out of Microsoft?</DialogTitle>
            <DialogContent>
              Its stored tokens are deleted from this computer, so it cannot send or receive until someone signs in again. Its settings and queued mail are kept.
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setConfirmLogout(false)}>Cancel</Button>
              <Button appearance="primary" onClick={() => void logout()} disabled={busy === 'logout'}>
                Sign out
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
      {settingsOpen && <OAuthSettingsDialog open onClose={() => setSettingsOpen(false)} />}
      {doctorOpen && (
        <TokenDoctorDialog
          mailbox={mailbox}
          onClose={() => {
            setDoctorOpen(false);
            // The doctor asked Microsoft for a fresh token: the panel's health changed with it.
            void refresh();
          }}
        />
      )}
    </section>
  );
}
