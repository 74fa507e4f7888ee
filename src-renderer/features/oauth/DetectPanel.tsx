/**
 * The evidence of an autodetect, step by step, with the proposed settings and
 * a button to use them. Also the hook that detects when an address is typed.
 */
import { Button, Caption1, MessageBar, MessageBarBody, Spinner, makeStyles, tokens } from '@fluentui/react-components';
import { CheckmarkRegular } from '@fluentui/react-icons';
import { useEffect, useRef, useState } from 'react';
import { EmailAddress } from '../../../src-main/shared/mailbox.js';
import type { DetectProposal, DetectResult } from '../../../src-main/shared/oauth.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { SECURITY_LABELS } from '../../../src-main/shared/setting-words.js';

/** The sign-in choices as the mailbox form names them. */
const AUTH_WORDS = { password: 'password or app password', oauth2: 'Microsoft 365 OAuth 2.0', none: 'no sign-in' } as const;

const useStyles = makeStyles({
  box: { display: 'flex', flexDirection: 'column', gap: '6px', padding: '10px 12px', borderRadius: tokens.borderRadiusMedium, backgroundColor: tokens.colorNeutralBackground2 },
  row: { display: 'flex', gap: '8px', alignItems: 'center', flexWrap: 'wrap' },
  steps: { listStyle: 'none', margin: 0, padding: 0, display: 'flex', flexDirection: 'column', gap: '4px' },
  step: { display: 'grid', gridTemplateColumns: '112px 1fr', gap: '8px', alignItems: 'start' },
  details: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase100, color: tokens.colorNeutralForeground3 },
  muted: { color: tokens.colorNeutralForeground3 },
});

const STEP_LOOK: Record<DetectResult['evidence'][number]['status'], { kind: StatusKind; word: string }> = {
  success: { kind: 'success', word: 'Found' },
  info: { kind: 'info', word: 'Nothing' },
  warning: { kind: 'warning', word: 'Warning' },
  error: { kind: 'error', word: 'Failed' },
  skipped: { kind: 'disabled', word: 'Skipped' },
};

/** Detects an address's provider a moment after it is typed (and only once per address). */
export function useDetect(address: string, enabled: boolean) {
  const [result, setResult] = useState<DetectResult>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const last = useRef<string>('');
  useEffect(() => {
    const value = address.trim().toLowerCase();
    if (!enabled || !EmailAddress.safeParse(value).success || value === last.current) return;
    const timer = setTimeout(() => {
      last.current = value;
      setLoading(true);
      setError(undefined);
      api.detect
        .address({ address: value })
        .then((r) => {
          if (last.current === value) setResult(r);
        })
        .catch((e: unknown) => setError(e))
        .finally(() => setLoading(false));
    }, 600);
    return () => clearTimeout(timer);
  }, [address, enabled]);
  return { result, error, loading };
}

export interface DetectPanelProps {
  result?: DetectResult;
  error?: unknown;
  loading?: boolean;
  /** Called with the proposal when the admin accepts it. */
  onUse?(proposal: DetectProposal): void;
}

export function DetectPanel({ result, error, loading, onUse }: DetectPanelProps) {
  const s = useStyles();
  if (loading) return <Spinner size="tiny" label="Detecting the provider (MX, Microsoft, autoconfig)…" labelPosition="after" />;
  if (error) return <ErrorBar error={error} />;
  if (!result) return null;
  const p = result.proposal;
  return (
    <section className={s.box} aria-label="Detected provider" data-testid="detect-panel">
      <div className={s.row}>
        <StatusBadge
          kind={result.microsoft365 ? 'success' : p.source ? 'info' : 'warning'}
          label={result.microsoft365 ? `Microsoft 365 (${result.confidence})` : p.source ? p.providerLabel : 'Unknown provider'}
        />
        <span>{result.summary}</span>
      </div>
      <ol className={s.steps} aria-label="Evidence">
        {result.evidence.map((e) => (
          <li key={e.step} className={s.step}>
            <StatusBadge kind={STEP_LOOK[e.status].kind} label={STEP_LOOK[e.status].word} />
            <div>
              <div>
                <b>{e.title}:</b> {e.summary}
              </div>
              {e.details.length > 0 && <div className={s.details}>{e.details.join(' · ')}</div>}
            </div>
          </li>
        ))}
      </ol>
      {result.warnings.map((w, i) => (
        <MessageBar key={i} intent="warning" layout="multiline">
          <MessageBarBody>{w}</MessageBarBody>
        </MessageBar>
      ))}
      {(p.imap || p.smtp) && (
        <div className={s.row}>
          <Caption1 className={s.muted}>
            {p.imap ? `IMAP ${p.imap.host}:${p.imap.port} (${SECURITY_LABELS[p.imap.security]}, ${AUTH_WORDS[p.imap.auth]})` : ''}
            {p.imap && p.smtp ? ' · ' : ''}
            {p.smtp ? `SMTP ${p.smtp.host}:${p.smtp.port} (${SECURITY_LABELS[p.smtp.security]}, ${AUTH_WORDS[p.smtp.auth]})` : ''}
            {p.pop3 ? ` · POP3 ${p.pop3.host}:${p.pop3.port} (${SECURITY_LABELS[p.pop3.security]}) also offered` : ''}
          </Caption1>
          {onUse && (
            <Button size="small" icon={<CheckmarkRegular />} onClick={() => onUse(p)}>
              Use these settings
            </Button>
          )}
        </div>
      )}
    </section>
  );
}
