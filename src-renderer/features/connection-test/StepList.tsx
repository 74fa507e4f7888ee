/** The steps of one protocol's test, live: pending, running, ok, failed, skipped. */
import { Caption1, Spinner, Text, makeStyles, tokens, mergeClasses } from '@fluentui/react-components';
import { CheckmarkCircleFilled, WarningFilled, DismissCircleFilled, CircleRegular, SubtractCircleRegular } from '@fluentui/react-icons';
import { GRAPH_STEPS, IMAP_STEPS, MINIMUM_TLS_VERSION, POP3_STEPS, SMTP_STEPS, tlsVersionLabel, type StepTls, type TestProtocol, type TestStepName } from '../../../src-main/shared/diagnosis.js';
import { STEP_LABELS } from '../../../src-main/shared/step-words.js';
import { formatDuration } from '../../components/format';
import { StatusBadge } from '../../components/StatusBadge';

export type LiveStatus = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';
export interface LiveStep {
  name: TestStepName;
  status: LiveStatus;
  ms: number;
  detail: string;
  /** The negotiated (or refused) TLS version and cipher, on the encryption steps. */
  tls?: StepTls;
}

/** The label of each step: one map for every screen (src-main/shared/step-words.ts). */
export { STEP_LABELS };

/** The steps a protocol runs, all pending. */
export function pendingSteps(protocol: TestProtocol, withMessage: boolean): LiveStep[] {
  const names =
    protocol === 'smtp'
      ? SMTP_STEPS.filter((n) => withMessage || !['mail-from', 'rcpt-to', 'data'].includes(n))
      : protocol === 'graph'
        ? GRAPH_STEPS.filter((n) => withMessage || n !== 'send-mail')
        : protocol === 'pop3'
          ? POP3_STEPS
          : IMAP_STEPS;
  return names.map((name) => ({ name, status: 'pending', ms: 0, detail: '' }));
}

const useStyles = makeStyles({
  list: { listStyle: 'none', margin: 0, padding: 0, display: 'flex', flexDirection: 'column' },
  item: {
    display: 'grid',
    gridTemplateColumns: '24px 1fr auto',
    alignItems: 'start',
    columnGap: '8px',
    padding: '6px 4px',
    borderBottom: `1px solid ${tokens.colorNeutralStroke3}`,
  },
  icon: { fontSize: '20px', display: 'flex', paddingTop: '1px' },
  ok: { color: tokens.colorPaletteGreenForeground1 },
  warned: { color: tokens.colorPaletteMarigoldForeground1 },
  failed: { color: tokens.colorPaletteRedForeground1 },
  muted: { color: tokens.colorNeutralForeground3 },
  name: { fontWeight: tokens.fontWeightSemibold },
  failedRow: { backgroundColor: tokens.colorPaletteRedBackground1 },
  detail: { display: 'block', color: tokens.colorNeutralForeground2, wordBreak: 'break-word', whiteSpace: 'pre-wrap' },
  ms: { color: tokens.colorNeutralForeground3, fontVariantNumeric: 'tabular-nums' },
  tls: { display: 'flex', flexWrap: 'wrap', alignItems: 'center', columnGap: '6px', rowGap: '2px', marginTop: '2px' },
  cipher: { color: tokens.colorNeutralForeground2, fontFamily: tokens.fontFamilyMonospace, wordBreak: 'break-all' },
});

/** The TLS version as a status badge (green when Mailroom accepts it, red when it refused it) and the cipher. */
function TlsSession({ tls }: { tls: StepTls }) {
  const s = useStyles();
  const version = tls.version ? tlsVersionLabel(tls.version) : 'Old TLS';
  const minimum = tlsVersionLabel(MINIMUM_TLS_VERSION);
  return (
    <span className={s.tls} data-tls={tls.supported ? 'supported' : 'refused'}>
      {tls.supported ? (
        <StatusBadge kind="success" label={version} title={`Negotiated ${version}${tls.cipher ? ` with ${tls.cipher}` : ''}`} />
      ) : (
        <StatusBadge kind="error" label={`${version} refused`} title={`The server offers only ${version}; Mailroom requires ${minimum} or later`} />
      )}
      {tls.cipher && <Caption1 className={s.cipher}>{tls.cipher}</Caption1>}
    </span>
  );
}

const WORD: Record<LiveStatus, string> = { pending: 'waiting', running: 'running', ok: 'passed', failed: 'failed', skipped: 'skipped' };

/** `warnedSteps`: steps that passed with a warning of the result (shown amber, never green). */
export function StepList({ steps, warnedSteps = [] }: { steps: LiveStep[]; warnedSteps?: readonly string[] }) {
  const s = useStyles();
  return (
    <ol className={s.list} aria-label="Steps">
      {steps.map((step) => (
        <li
          key={step.name}
          className={mergeClasses(s.item, step.status === 'failed' && s.failedRow)}
          data-step={step.name}
          data-status={step.status === 'ok' && warnedSteps.includes(step.name) ? 'warning' : step.status}
        >
          <span className={s.icon} aria-hidden>
            {step.status === 'ok' && warnedSteps.includes(step.name) && <WarningFilled className={s.warned} />}
            {step.status === 'ok' && !warnedSteps.includes(step.name) && <CheckmarkCircleFilled className={s.ok} />}
            {step.status === 'failed' && <DismissCircleFilled className={s.failed} />}
            {step.status === 'skipped' && <SubtractCircleRegular className={s.muted} />}
            {step.status === 'pending' && <CircleRegular className={s.muted} />}
            {step.status === 'running' && <Spinner size="extra-tiny" />}
          </span>
          <span>
            <Text className={mergeClasses(s.name, (step.status === 'skipped' || step.status === 'pending') && s.muted)}>{STEP_LABELS[step.name]}</Text>
            <Caption1 className={s.muted}> · {step.status === 'ok' && warnedSteps.includes(step.name) ? 'ok, with a warning' : WORD[step.status]}</Caption1>
            {step.tls && <TlsSession tls={step.tls} />}
            {step.detail && <Caption1 className={s.detail}>{step.detail}</Caption1>}
          </span>
          <Caption1 className={s.ms}>{step.status === 'ok' || step.status === 'failed' ? formatDuration(step.ms) : ''}</Caption1>
        </li>
      ))}
    </ol>
  );
}
