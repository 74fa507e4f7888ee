/**
 * The Connection tests screen: test a saved mailbox or ad-hoc settings, watch
 * the steps live, read the diagnosis and the fix, the redacted transcript and
 * the equivalent curl command; the last results per mailbox stay viewable.
 */
import {
  Accordion,
  AccordionHeader,
  AccordionItem,
  AccordionPanel,
  Body1,
  Button,
  Caption1,
  Field,
  Input,
  Radio,
  RadioGroup,
  Select,
  Subtitle2,
  Tab,
  TabList,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Title3,
  makeStyles,
  mergeClasses,
  tokens,
} from '@fluentui/react-components';
import { DismissRegular, PlayRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { ConnectionTestProgressEvent, ConnectionTestResult, ConnectionTestSummary } from '../../../src-main/shared/contract/connection-tests.js';
import { CONNECTION_TEST_TITLES, TEST_DEFAULT_PORTS, type ServerTestProtocol, type TestProtocol } from '../../../src-main/shared/diagnosis.js';
import { SECURITY_MODES, type Mailbox, type SecurityMode } from '../../../src-main/shared/mailbox.js';
import { incomingProtocolOf } from '../../../src-main/shared/incoming.js';
import { SECURITY_LABELS, SECURITY_OPTIONS } from '../../../src-main/shared/setting-words.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime, formatDuration, formatTime, timeTitle } from '../../components/format';
import { arrowKeys } from '../../components/arrow-keys';
import { DiagnosisCard, WarningCard } from './DiagnosisCard';
import { StepList, pendingSteps, type LiveStep } from './StepList';
import { TranscriptPanel } from './TranscriptPanel';

import { ChangeButton } from '../../components/read-only';
const useStyles = makeStyles({
  // The form column gives way on a 1024-pixel screen, so the results keep room for their cards.
  page: { display: 'grid', gridTemplateColumns: 'clamp(300px, 30vw, 380px) minmax(0, 1fr)', gap: '16px', padding: '16px 20px', alignItems: 'start', minHeight: '100%' },
  column: { display: 'flex', flexDirection: 'column', gap: '12px', minWidth: 0 },
  card: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, padding: '14px 16px', display: 'flex', flexDirection: 'column', gap: '10px', minWidth: 0 },
  row: { display: 'flex', gap: '8px', alignItems: 'center', flexWrap: 'wrap' },
  // Tracks and inputs may shrink below an input's natural width, so fields never run past the card.
  grid2: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 1fr)', gap: '10px', '& .fui-Input': { width: '100%', minWidth: 0 } },
  grid3: { display: 'grid', gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 1fr)', gap: '10px', '& .fui-Input': { width: '100%', minWidth: 0 } },
  input: { minWidth: 0, width: '100%' },
  // Four choices (with Microsoft Graph) do not fit one line of the form column: they wrap inside the card.
  choices: { flexWrap: 'wrap', rowGap: '2px' },
  muted: { color: tokens.colorNeutralForeground3 },
  resultHead: { display: 'flex', alignItems: 'center', gap: '8px', flexWrap: 'wrap' },
  spacer: { flex: 1 },
  results: { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(min(420px, 100%), 1fr))', gap: '12px' },
  historyTable: { tableLayout: 'fixed', width: '100%' },
  historyRow: { cursor: 'pointer', ':focus-visible': { outline: `2px solid ${tokens.colorStrokeFocus2}`, outlineOffset: '-2px' } },
  historyLine: { display: 'flex', flexWrap: 'wrap', alignItems: 'center', justifyContent: 'space-between', gap: '2px 8px', paddingTop: '4px' },
  selected: { backgroundColor: tokens.colorNeutralBackground1Selected },
  dl: { display: 'grid', gridTemplateColumns: '130px 1fr', gap: '2px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, wordBreak: 'break-all' },
  empty: { padding: '32px', textAlign: 'center', color: tokens.colorNeutralForeground3 },
});

const PROTOCOL_LABEL: Record<TestProtocol, string> = { smtp: 'Outgoing (SMTP)', imap: 'Incoming (IMAP)', pop3: 'Incoming (POP3)', graph: 'Microsoft Graph' };
const SECURITY_LABEL: Record<SecurityMode, string> = SECURITY_LABELS;

interface RunState {
  runId: string;
  protocols: TestProtocol[];
  live: Partial<Record<TestProtocol, LiveStep[]>>;
  results?: ConnectionTestResult[];
  error?: unknown;
  running: boolean;
  fromHistory?: boolean;
}

function newRunId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `run-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** Reads `#/tests/<mailboxId>[/run|/graph]` (`graph`: run the Microsoft Graph test at once). */
function routeParams(): { mailboxId?: number; autoRun: boolean; graph: boolean } {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const id = Number(parts[1]);
  return { ...(Number.isInteger(id) && id > 0 ? { mailboxId: id } : {}), autoRun: parts[2] === 'run' || parts[2] === 'graph', graph: parts[2] === 'graph' };
}

/** A Microsoft 365 mailbox with a Microsoft 365 sign-in can be tested through Microsoft Graph. */
function graphTestable(m: Mailbox | undefined): boolean {
  if (!m) return false;
  const oauth = (auth: string) => auth === 'oauth2' || auth === 'oauth2-app';
  return (m.preset === 'microsoft365' || m.sendVia === 'graph' || m.receiveVia === 'graph') && (oauth(m.imap.auth) || oauth(m.smtp.auth));
}

export function ConnectionTestsPage() {
  const s = useStyles();
  const queryClient = useQueryClient();
  const initial = useRef(routeParams());
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [mode, setMode] = useState<'mailbox' | 'adhoc'>('mailbox');
  const [mailboxId, setMailboxId] = useState<string>(initial.current.mailboxId ? String(initial.current.mailboxId) : '');
  const [direction, setDirection] = useState<'both' | 'incoming' | 'outgoing' | 'graph'>(initial.current.graph ? 'graph' : 'both');
  const [to, setTo] = useState('');
  const [adhoc, setAdhoc] = useState({ protocol: 'smtp' as ServerTestProtocol, host: '', port: '', security: 'starttls' as SecurityMode, auth: 'password' as 'password' | 'xoauth2' | 'none', user: '', secret: '', folder: 'INBOX', from: '', to: '' });
  const [run, setRun] = useState<RunState>();
  const [formError, setFormError] = useState<string>();

  // Pick the first mailbox once they are loaded.
  useEffect(() => {
    if (!mailboxId && mailboxes.data?.length) setMailboxId(String(mailboxes.data[0]!.id));
  }, [mailboxes.data, mailboxId]);

  // Live steps: progress events of the current run update its step list.
  useEffect(
    () =>
      api.transport.on('connectionTests.progress', (payload) => {
        const event = payload as ConnectionTestProgressEvent;
        setRun((current) => {
          if (!current || current.runId !== event.runId || !current.running) return current;
          const steps = current.live[event.protocol] ?? pendingSteps(event.protocol, true);
          const next = steps.map((st) => (st.name === event.step.name ? { ...st, status: event.step.status, ms: event.step.ms, detail: event.step.detail, ...(event.step.tls ? { tls: event.step.tls } : {}) } : st));
          return { ...current, live: { ...current.live, [event.protocol]: next } };
        });
      }),
    [],
  );

  const historyKey = mode === 'mailbox' ? (mailboxId ? Number(mailboxId) : undefined) : null;
  const history = useQuery({
    queryKey: ['connectionTests.history', historyKey],
    queryFn: () => api.connectionTests.history({ mailboxId: historyKey ?? null, limit: 50 }),
    enabled: historyKey !== undefined,
  });

  // A mailbox that receives over POP3 is tested over POP3 on its incoming side.
  const chosenMailbox = mailboxes.data?.find((m) => String(m.id) === mailboxId);
  const incoming: TestProtocol = chosenMailbox ? incomingProtocolOf(chosenMailbox) : 'imap';

  async function start(event?: FormEvent) {
    event?.preventDefault();
    setFormError(undefined);
    const runId = newRunId();
    let input: Parameters<typeof api.connectionTests.run>[0];
    let protocols: TestProtocol[];
    if (mode === 'mailbox' && direction === 'graph') {
      if (!mailboxId) return setFormError('Choose a mailbox to test, or create one on the Mailboxes screen.');
      const withMessage = Boolean(to.trim());
      setRun({ runId, protocols: ['graph'], live: { graph: pendingSteps('graph', withMessage) }, running: true });
      try {
        const result = await api.connectionTests.runGraph({ mailboxId: Number(mailboxId), runId, ...(to.trim() ? { to: to.trim() } : {}) });
        setRun((cur) => (cur?.runId === runId ? { ...cur, results: [result], running: false } : cur));
      } catch (error) {
        setRun((cur) => (cur?.runId === runId ? { ...cur, error, running: false } : cur));
      }
      void queryClient.invalidateQueries({ queryKey: ['connectionTests.history'] });
      return;
    }
    if (mode === 'mailbox') {
      if (!mailboxId) return setFormError('Choose a mailbox to test, or create one on the Mailboxes screen.');
      const sides = direction === 'graph' ? 'both' : direction;
      // A side that goes through Microsoft Graph is tested through Graph (the engine runs one Graph test for both);
      // a mailbox that receives over POP3 is tested over POP3 on its incoming side.
      const mailbox = mailboxes.data?.find((m) => String(m.id) === mailboxId);
      const sendGraph = mailbox?.sendVia === 'graph' && sides !== 'incoming';
      const receiveGraph = mailbox?.receiveVia === 'graph' && sides !== 'outgoing';
      protocols = [...(sides !== 'incoming' && !sendGraph ? (['smtp'] as const) : []), ...(sides !== 'outgoing' && !receiveGraph ? [incoming] : []), ...(sendGraph || receiveGraph ? (['graph'] as const) : [])];
      input = { mailboxId: Number(mailboxId), direction: sides, runId, ...(to.trim() ? { to: to.trim() } : {}) };
    } else {
      if (!adhoc.host.trim()) return setFormError('Enter the server host name, such as smtp.example.com.');
      protocols = [adhoc.protocol];
      input = {
        protocol: adhoc.protocol,
        host: adhoc.host.trim(),
        security: adhoc.security,
        auth: adhoc.auth,
        runId,
        ...(adhoc.port.trim() ? { port: Number(adhoc.port) } : {}),
        ...(adhoc.user.trim() ? { user: adhoc.user.trim() } : {}),
        ...(adhoc.auth === 'password' && adhoc.secret ? { password: adhoc.secret } : {}),
        ...(adhoc.auth === 'xoauth2' && adhoc.secret ? { token: adhoc.secret } : {}),
        ...(adhoc.protocol === 'imap' && adhoc.folder.trim() ? { folder: adhoc.folder.trim() } : {}),
        ...(adhoc.protocol === 'smtp' && adhoc.to.trim() ? { to: adhoc.to.trim() } : {}),
        ...(adhoc.protocol === 'smtp' && adhoc.from.trim() ? { from: adhoc.from.trim() } : {}),
      };
    }
    const withMessage = mode === 'mailbox' ? Boolean(to.trim()) : Boolean(adhoc.to.trim());
    // Graph sends the test message only when sending goes through it.
    const graphSends = mode === 'mailbox' && direction !== 'incoming' && mailboxes.data?.find((m) => String(m.id) === mailboxId)?.sendVia === 'graph';
    const live = Object.fromEntries(protocols.map((p) => [p, pendingSteps(p, p === 'graph' ? withMessage && graphSends : withMessage)]));
    setRun({ runId, protocols, live, running: true });
    try {
      const results = await api.connectionTests.run(input);
      setRun((cur) => (cur?.runId === runId ? { ...cur, results, running: false } : cur));
    } catch (error) {
      setRun((cur) => (cur?.runId === runId ? { ...cur, error, running: false } : cur));
    }
    void queryClient.invalidateQueries({ queryKey: ['connectionTests.history'] });
  }

  // "Test connection" on a mailbox arrives here with /run: start at once.
  useEffect(() => {
    if (initial.current.autoRun && initial.current.mailboxId && mailboxes.data) {
      initial.current.autoRun = false;
      void start();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mailboxes.data]);

  async function cancel() {
    if (run?.running) await api.connectionTests.cancel({ runId: run.runId });
  }

  async function openHistory(summary: ConnectionTestSummary) {
    try {
      const result = await api.connectionTests.get({ id: summary.id });
      setRun({ runId: result.runId, protocols: [result.protocol], live: {}, results: [result], running: false, fromHistory: true });
    } catch (error) {
      setRun({ runId: summary.runId, protocols: [], live: {}, error, running: false });
    }
  }

  // Newest first, whatever order results were stored or imported in (a bundle's, a CLI --keep).
  const historyRows = useMemo(() => [...(history.data ?? [])].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id), [history.data]);

  const selectedMailbox = mailboxes.data?.find((m) => String(m.id) === mailboxId);
  const canTestGraph = graphTestable(selectedMailbox);
  // Another mailbox that cannot use Graph: back to both directions.
  useEffect(() => {
    if (direction === 'graph' && mailboxes.data && !canTestGraph) setDirection('both');
  }, [direction, canTestGraph, mailboxes.data]);

  const setA = <K extends keyof typeof adhoc>(key: K, value: (typeof adhoc)[K]) => setAdhoc((a) => ({ ...a, [key]: value }));
  const adhocPortPlaceholder = String(TEST_DEFAULT_PORTS[adhoc.protocol][adhoc.security]);

  return (
    <div className={s.page}>
      <div className={s.column}>
        <Title3 as="h1">Connection tests</Title3>
        <form className={s.card} onSubmit={start} aria-label="Test settings" data-region="toolbar">
          <TabList selectedValue={mode} onTabSelect={(_e, d) => setMode(d.value as 'mailbox' | 'adhoc')} size="small">
            <Tab value="mailbox">Saved mailbox</Tab>
            <Tab value="adhoc">Ad-hoc settings</Tab>
          </TabList>
          {mode === 'mailbox' ? (
            <>
              <Field label="Mailbox">
                <Select className={s.input} name="mailbox" value={mailboxId} onChange={(_e, d) => setMailboxId(d.value)}>
                  {!mailboxes.data?.length && <option value="">No mailboxes yet</option>}
                  {mailboxes.data?.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name} ({m.address})
                    </option>
                  ))}
                </Select>
              </Field>
              <Field label="Test">
                <RadioGroup className={s.choices} layout="horizontal" value={direction} onChange={(_e, d) => setDirection(d.value as typeof direction)}>
                  <Radio value="both" label="Both" />
                  <Radio value="outgoing" label={`Outgoing (${selectedMailbox?.sendVia === 'graph' ? 'Graph' : 'SMTP'})`} />
                  <Radio value="incoming" label={selectedMailbox?.receiveVia === 'graph' ? 'Incoming (Graph)' : PROTOCOL_LABEL[incoming]} />
                  {canTestGraph && <Radio value="graph" label="Microsoft Graph" />}
                </RadioGroup>
              </Field>
              {direction === 'graph' && (
                <Caption1 className={s.muted}>
                  Gets a token for Microsoft Graph with the mailbox's sign-in, finds the mailbox (GET /users), opens its folder and, with a recipient, sends a test message (sendMail).
                </Caption1>
              )}
              {direction !== 'incoming' && (
                <Field
                  label="Send a test message to (optional)"
                  hint={direction === 'graph' ? 'Also checks that Microsoft Graph accepts a message from this mailbox (sendMail).' : 'Also checks that the server accepts the sender, the recipient and a message.'}
                >
                  <Input className={s.input} name="to" type="email" value={to} placeholder="you@example.com" onChange={(_e, d) => setTo(d.value)} />
                </Field>
              )}
            </>
          ) : (
            <>
              <div className={s.grid2}>
                <Field label="Protocol">
                  <Select className={s.input} name="protocol" value={adhoc.protocol} onChange={(_e, d) => setA('protocol', d.value as ServerTestProtocol)}>
                    <option value="smtp">SMTP (outgoing)</option>
                    <option value="imap">IMAP (incoming)</option>
                    <option value="pop3">POP3 (incoming)</option>
                  </Select>
                </Field>
                <Field label="Security">
                  <Select className={s.input} name="security" value={adhoc.security} onChange={(_e, d) => setA('security', d.value as SecurityMode)}>
                    {SECURITY_MODES.map((mode) => (
                      <option key={mode} value={mode}>
                        {SECURITY_OPTIONS[mode]}
                      </option>
                    ))}
                  </Select>
                </Field>
              </div>
              <div className={s.grid3}>
                <Field label="Server">
                  <Input className={s.input} name="host" value={adhoc.host} placeholder="smtp.example.com" onChange={(_e, d) => setA('host', d.value)} />
                </Field>
                <Field label="Port">
                  <Input className={s.input} name="port" value={adhoc.port} placeholder={adhocPortPlaceholder} onChange={(_e, d) => setA('port', d.value)} />
                </Field>
              </div>
              <div className={s.grid2}>
                <Field label="Sign-in">
                  <Select className={s.input} name="auth" value={adhoc.auth} onChange={(_e, d) => setA('auth', d.value as typeof adhoc.auth)}>
                    <option value="password">Password</option>
                    <option value="xoauth2">OAuth 2.0 token</option>
                    <option value="none">None</option>
                  </Select>
                </Field>
                <Field label="User name">
                  <Input className={s.input} name="user" value={adhoc.user} onChange={(_e, d) => setA('user', d.value)} autoComplete="off" />
                </Field>
              </div>
              {adhoc.auth !== 'none' && (
                <Field label={adhoc.auth === 'password' ? 'Password' : 'Access token'} hint="Used for this test only; never stored.">
                  <Input className={s.input} name="secret" type="password" value={adhoc.secret} onChange={(_e, d) => setA('secret', d.value)} autoComplete="off" />
                </Field>
              )}
              {adhoc.protocol === 'pop3' ? null : adhoc.protocol === 'imap' ? (
                <Field label="Folder">
                  <Input className={s.input} name="folder" value={adhoc.folder} onChange={(_e, d) => setA('folder', d.value)} />
                </Field>
              ) : (
                <div className={s.grid2}>
                  <Field label="From (optional)">
                    <Input className={s.input} name="from" value={adhoc.from} onChange={(_e, d) => setA('from', d.value)} />
                  </Field>
                  <Field label="To (optional)">
                    <Input className={s.input} name="adhocTo" value={adhoc.to} onChange={(_e, d) => setA('to', d.value)} />
                  </Field>
                </div>
              )}
            </>
          )}
          {formError && <Caption1 role="alert" style={{ color: tokens.colorPaletteRedForeground1 }}>{formError}</Caption1>}
          <div className={s.row}>
            <ChangeButton channel="connectionTests.run" appearance="primary" type="submit" icon={<PlayRegular />} disabled={run?.running}>
              {run?.running ? 'Testing…' : 'Run test'}
            </ChangeButton>
            {run?.running && (
              <Button icon={<DismissRegular />} onClick={cancel}>
                Cancel
              </Button>
            )}
          </div>
        </form>

        <section className={s.card} aria-label="Recent results">
          <Subtitle2>Recent results {mode === 'adhoc' ? '(ad-hoc tests)' : ''}</Subtitle2>
          {historyRows.length ? (
            <Table size="extra-small" aria-label="Recent results" className={s.historyTable} onKeyDown={arrowKeys('vertical', 'tbody tr')}>
              <TableHeader>
                <TableRow>
                  <TableHeaderCell>When, test and result</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {historyRows.map((h) => (
                  <TableRow
                    key={h.id}
                    // One Tab stop for the list (the result shown, else the newest); the arrow keys move between rows.
                    tabIndex={h.id === (historyRows.find((r) => run?.fromHistory && run.results?.[0]?.id === r.id) ?? historyRows[0])?.id ? 0 : -1}
                    data-test-id={h.id}
                    aria-selected={run?.fromHistory === true && run.results?.[0]?.id === h.id}
                    className={mergeClasses(s.historyRow, run?.fromHistory && run.results?.[0]?.id === h.id && s.selected)}
                    onClick={() => void openHistory(h)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter') {
                        e.preventDefault();
                        void openHistory(h);
                      }
                    }}
                  >
                    <TableCell>
                      {/* Date and result on one line when they fit (the result wraps below otherwise), then the test. */}
                      <div className={s.historyLine}>
                        <span title={timeTitle(h.startedAt)}>{formatDateTime(h.startedAt)}</span>
                        {h.ok && h.warningCodes.length ? (
                          <StatusBadge kind="warning" label="Passed with warnings" title={`Passed with warnings: ${h.warningCodes.join(', ')}`} />
                        ) : h.ok ? (
                          <StatusBadge kind="success" label="Passed" />
                        ) : h.cancelled ? (
                          <StatusBadge kind="disabled" label="Cancelled" />
                        ) : (
                          <StatusBadge kind="error" label={h.diagnosis?.code ?? 'Failed'} title={h.diagnosis ? `${h.diagnosis.code}: ${CONNECTION_TEST_TITLES[h.diagnosis.code]}` : undefined} />
                        )}
                      </div>
                      <Caption1 className={s.muted} block title={`${h.target.host}:${h.target.port}`}>
                        {h.protocol === 'graph' ? `Microsoft Graph · ${h.target.host}` : `${h.protocol.toUpperCase()} · port ${h.target.port} · ${SECURITY_LABEL[h.target.security]}`}
                      </Caption1>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          ) : (
            <Caption1 className={s.muted}>No results yet. The last 50 per mailbox are kept.</Caption1>
          )}
        </section>
      </div>

      <div className={s.column} aria-live="polite" data-region="detail">
        {!run && (
          <div className={mergeClasses(s.card, s.empty)}>
            <Subtitle2>Why does mail not flow?</Subtitle2>
            <Body1>
              Run a test: Mailroom goes step by step (DNS, connect, encryption, greeting, sign-in, then the folder, the message count (POP3) or a test message)
              and names the failing step, the cause and what to change.
            </Body1>
          </div>
        )}
        {run?.error ? <ErrorBar error={run.error} /> : null}
        {run && !run.error && (
          <div className={s.results}>
            {(run.results ?? run.protocols.map((p) => undefined as ConnectionTestResult | undefined)).map((result, i) => {
              const protocol = result?.protocol ?? run.protocols[i]!;
              return <ResultCard key={protocol} protocol={protocol} result={result} live={run.live[protocol]} running={run.running} fromHistory={run.fromHistory} />;
            })}
          </div>
        )}
        {run?.results?.map((r) => (
          <TranscriptPanel
            key={`t-${r.protocol}`}
            title={r.protocol === 'graph' ? 'Microsoft Graph transcript (HTTP, token redacted)' : `${PROTOCOL_LABEL[r.protocol]} transcript`}
            lines={r.transcript}
            curlCommand={r.curlCommand}
          />
        ))}
      </div>
    </div>
  );
}

function ResultCard({ protocol, result, live, running, fromHistory }: { protocol: TestProtocol; result?: ConnectionTestResult; live?: LiveStep[]; running: boolean; fromHistory?: boolean }) {
  const s = useStyles();
  const steps: LiveStep[] = result ? result.steps : live ?? [];
  return (
    <section className={s.card} aria-label={`${PROTOCOL_LABEL[protocol]} result`} data-protocol={protocol}>
      <div className={s.resultHead}>
        <Subtitle2>{PROTOCOL_LABEL[protocol]}</Subtitle2>
        {result && (
          <Caption1 className={s.muted}>
            {result.protocol === 'graph' ? `${result.user} · ${result.target.host}` : `${result.target.host}:${result.target.port} · ${SECURITY_LABEL[result.target.security]}`}
          </Caption1>
        )}
        <span className={s.spacer} />
        {!result && running && <StatusBadge kind="progress" label="Testing" />}
        {result?.ok && (result.warnings?.length ? <StatusBadge kind="warning" label="Passed with warnings" /> : <StatusBadge kind="success" label="Passed" />)}
        {result && !result.ok && result.cancelled && <StatusBadge kind="disabled" label="Cancelled" />}
        {result && !result.ok && !result.cancelled && <StatusBadge kind="error" label="Failed" />}
        {result && <Caption1 className={s.muted}>{formatDuration(result.durationMs)}</Caption1>}
      </div>
      {fromHistory && result && (
        <Caption1 className={s.muted} title={timeTitle(result.startedAt)}>
          Stored result from {formatTime(result.startedAt)}
        </Caption1>
      )}
      {result?.diagnosis && <DiagnosisCard diagnosis={result.diagnosis} />}
      {result?.warnings?.map((warning) => <WarningCard key={warning.code} warning={warning} />)}
      <StepList steps={steps} warnedSteps={result?.warnings?.flatMap((w) => (w.step ? [w.step] : [])) ?? []} />
      {result?.tls && (
        <Accordion collapsible>
          <AccordionItem value="tls">
            <AccordionHeader size="small">
              Certificate: {result.tls.trusted ? 'trusted' : `not trusted${result.tls.verificationError ? ` (${result.tls.verificationError})` : ''}`}
            </AccordionHeader>
            <AccordionPanel>
              <dl className={s.dl}>
                <dt className={s.dt}>Protocol</dt>
                <dd className={s.dd}>{result.tls.protocol ?? '—'}</dd>
                <dt className={s.dt}>Cipher</dt>
                <dd className={s.dd}>{result.tls.cipher ?? '—'}</dd>
                <dt className={s.dt}>Subject</dt>
                <dd className={s.dd}>{result.tls.subject ?? '—'}</dd>
                <dt className={s.dt}>Alternative names</dt>
                <dd className={s.dd}>{result.tls.subjectAltNames.join(', ') || '—'}</dd>
                <dt className={s.dt}>Issuer</dt>
                <dd className={s.dd}>{result.tls.issuer ?? '—'}</dd>
                <dt className={s.dt}>Valid</dt>
                <dd className={s.dd}>
                  {result.tls.validFrom ?? '?'} to {result.tls.validTo ?? '?'}
                </dd>
                <dt className={s.dt}>SHA-256</dt>
                <dd className={s.dd}>{result.tls.fingerprint256 ?? '—'}</dd>
              </dl>
            </AccordionPanel>
          </AccordionItem>
        </Accordion>
      )}
      {result?.dns && (
        <Text size={200} className={s.muted}>
          DNS: {result.dns.host} → {result.dns.addresses.map((a) => a.address).join(', ') || 'no address'}
          {result.dns.mx ? ` · MX of ${result.dns.mxDomain}: ${result.dns.mx.map((m) => `${m.exchange} (${m.priority})`).join(', ') || 'none'}` : ''}
        </Text>
      )}
    </section>
  );
}
