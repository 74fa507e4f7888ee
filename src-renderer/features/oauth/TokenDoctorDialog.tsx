/**
 * The token doctor of a mailbox, on screen: what the token says about itself
 * (its claims; the token is never shown), the real IMAP and SMTP sign-ins it
 * was tried with, and each finding with its code, summary and what to change:
 * the same as `mailroom oauth doctor --json`.
 */
import {
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Subtitle2,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { ArrowClockwiseRegular } from '@fluentui/react-icons';
import { Fragment, useEffect, useState } from 'react';
import type { Mailbox } from '../../../src-main/shared/mailbox.js';
import { GRAPH_SUGGESTION_TITLES, TOKEN_FINDING_TITLES, type TokenDoctorReport } from '../../../src-main/shared/token-doctor.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';

const useStyles = makeStyles({
  surface: { maxWidth: '780px', width: 'calc(100vw - 48px)' },
  content: { display: 'flex', flexDirection: 'column', gap: '12px', minWidth: 0 },
  claims: { display: 'grid', gridTemplateColumns: 'max-content minmax(0, 1fr)', gap: '2px 16px', margin: 0 },
  name: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, color: tokens.colorNeutralForeground3 },
  value: { margin: 0, fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, overflowWrap: 'anywhere' },
  findings: { display: 'flex', flexDirection: 'column', gap: '8px', margin: 0, padding: 0, listStyle: 'none' },
  finding: { display: 'flex', flexDirection: 'column', gap: '4px', padding: '8px 12px', borderRadius: tokens.borderRadiusMedium, border: `1px solid ${tokens.colorNeutralStroke2}`, minWidth: 0 },
  summary: { overflowWrap: 'anywhere' },
  hint: { overflowWrap: 'anywhere', color: tokens.colorNeutralForeground2 },
  wrap: { overflowWrap: 'anywhere', whiteSpace: 'normal' },
  muted: { color: tokens.colorNeutralForeground3 },
});

/** The claims in the order an admin reads them; empty ones are left out. */
const CLAIM_ORDER = ['aud', 'kind', 'scp', 'roles', 'upn', 'preferred_username', 'unique_name', 'tid', 'appid', 'oid', 'iat', 'exp'] as const;
const KIND_WORD = { delegated: 'delegated (a person signed in)', app: 'app-only (client credentials)', unknown: 'unknown' } as const;

export function TokenDoctorDialog({ mailbox, onClose }: { mailbox: Mailbox; onClose(): void }) {
  const s = useStyles();
  const [report, setReport] = useState<TokenDoctorReport>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);

  const run = async () => {
    setRunning(true);
    setError(undefined);
    try {
      setReport(await api.oauth.doctor({ mailboxId: mailbox.id }));
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };
  useEffect(() => {
    void run();
  }, [mailbox.id]);

  const claims = report?.claims;
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface className={s.surface} aria-label={`Token doctor for ${mailbox.name}`}>
        <DialogBody>
          <DialogTitle>Token doctor: {mailbox.name}</DialogTitle>
          {/* Focusable: a long report scrolls, and the keyboard must reach it (axe scrollable-region-focusable). */}
          <DialogContent className={s.content} tabIndex={0} role="region" aria-label="Token doctor report">
            {running && <Spinner size="small" label="Getting a token from Microsoft and signing in to the servers with it…" />}
            <ErrorBar error={error} />
            {report && !running && (
              <MessageBar intent={report.ok ? 'success' : 'warning'} layout="multiline" role="status" data-testid="doctor-verdict">
                <MessageBarBody className={s.summary}>
                  <MessageBarTitle>{report.ok ? 'Nothing wrong found' : `${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`}</MessageBarTitle>
                  {report.tokenSource === null ? 'This mailbox signs in with a password; only the sign-ins were tried.' : 'The token itself is never shown: only what it says about itself.'}
                </MessageBarBody>
              </MessageBar>
            )}

            {report && report.findings.length > 0 && (
              <section aria-label="Findings">
                <Subtitle2 as="h3">Findings</Subtitle2>
                <ul className={s.findings}>
                  {report.findings.map((f) => (
                    <li key={`${f.code}:${f.summary}`} className={s.finding} data-finding={f.code}>
                      <div>
                        <StatusBadge
                          kind={f.code in GRAPH_SUGGESTION_TITLES ? 'info' : f.code.startsWith('RELAY_') ? 'warning' : 'error'}
                          label={f.code}
                          {...(f.code in TOKEN_FINDING_TITLES
                            ? { title: TOKEN_FINDING_TITLES[f.code as keyof typeof TOKEN_FINDING_TITLES] }
                            : f.code in GRAPH_SUGGESTION_TITLES
                              ? { title: GRAPH_SUGGESTION_TITLES[f.code as keyof typeof GRAPH_SUGGESTION_TITLES] }
                              : {})}
                        />
                      </div>
                      <span className={s.summary}>{f.summary}</span>
                      <Caption1 className={s.hint}>What to change: {f.hint}</Caption1>
                    </li>
                  ))}
                </ul>
              </section>
            )}

            {claims && (
              <section aria-label="Token claims">
                <Subtitle2 as="h3">Claims</Subtitle2>
                <dl className={s.claims} data-testid="doctor-claims">
                  {CLAIM_ORDER.filter((name) => claims[name] !== null).map((name) => {
                    const value = claims[name];
                    return (
                      <Fragment key={name}>
                        <dt className={s.name}>{name}</dt>
                        <dd className={s.value}>{name === 'kind' ? KIND_WORD[claims.kind] : Array.isArray(value) ? value.join(' ') : value}</dd>
                      </Fragment>
                    );
                  })}
                </dl>
              </section>
            )}
            {report?.claimsUnreadable && <Caption1 className={s.muted}>The token is not a readable JWT ({report.claimsUnreadable}): its claims cannot be shown.</Caption1>}

            {report && report.probes.length > 0 && (
              <section aria-label="Sign-ins tried">
                <Subtitle2 as="h3">Sign-ins tried</Subtitle2>
                <Table size="small" aria-label="Sign-ins tried">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Protocol</TableHeaderCell>
                      <TableHeaderCell>Server</TableHeaderCell>
                      <TableHeaderCell>With</TableHeaderCell>
                      <TableHeaderCell>Result</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {report.probes.map((p) => (
                      <TableRow key={p.protocol}>
                        <TableCell>{p.protocol.toUpperCase()}</TableCell>
                        <TableCell className={s.wrap}>
                          {p.host}:{p.port}
                        </TableCell>
                        <TableCell>{p.auth === 'xoauth2' ? 'the token (XOAUTH2)' : 'the password'}</TableCell>
                        <TableCell className={s.wrap}>
                          {p.ok ? <StatusBadge kind="success" label="Signed in" /> : <StatusBadge kind="error" label={`Failed at ${p.step}`} title={`${p.code ?? ''} ${p.serverReply ?? ''}`.trim()} />}
                        </TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </section>
            )}
          </DialogContent>
          <DialogActions>
            <Button icon={<ArrowClockwiseRegular />} onClick={() => void run()} disabled={running}>
              Run again
            </Button>
            <Button appearance="primary" onClick={onClose}>
              Close
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
