/** The redacted protocol transcript, with copy buttons and the equivalent curl command. */
import { Caption1, Subtitle2, makeStyles, tokens } from '@fluentui/react-components';
import type { TranscriptLine } from '../../../src-main/shared/diagnosis.js';
import { CopyButton } from '../../components/CopyButton';

const useStyles = makeStyles({
  root: { display: 'flex', flexDirection: 'column', gap: '6px', minWidth: 0 },
  head: { display: 'flex', alignItems: 'center', gap: '8px', flexWrap: 'wrap' },
  spacer: { flex: 1 },
  pre: {
    margin: 0,
    maxHeight: '320px',
    overflow: 'auto',
    backgroundColor: tokens.colorNeutralBackground3,
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    padding: '8px 10px',
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    lineHeight: tokens.lineHeightBase300,
  },
  line: { display: 'grid', gridTemplateColumns: '64px 40px 1fr', whiteSpace: 'pre-wrap', wordBreak: 'break-all' },
  t: { color: tokens.colorNeutralForeground3, textAlign: 'right', paddingRight: '10px', fontVariantNumeric: 'tabular-nums' },
  C: { color: tokens.colorBrandForeground1 },
  S: { color: tokens.colorNeutralForeground1 },
  info: { color: tokens.colorNeutralForeground3, fontStyle: 'italic' },
  curl: { margin: 0, fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, whiteSpace: 'pre-wrap', wordBreak: 'break-all', color: tokens.colorNeutralForeground2 },
});

const ARROW = { C: 'C:', S: 'S:', info: '  *' } as const;

/** The transcript as plain text, as copied. */
export function transcriptText(lines: TranscriptLine[]): string {
  return lines.map((l) => `${String(l.t).padStart(6)} ms ${ARROW[l.dir]} ${l.text}`).join('\n');
}

export function TranscriptPanel({ title, lines, curlCommand }: { title: string; lines: TranscriptLine[]; curlCommand?: string }) {
  const s = useStyles();
  return (
    <section className={s.root} aria-label={title}>
      <div className={s.head}>
        <Subtitle2>{title}</Subtitle2>
        <Caption1>{lines.length} lines, secrets redacted</Caption1>
        <span className={s.spacer} />
        <CopyButton text={transcriptText(lines)} label="Copy transcript">
          Copy transcript
        </CopyButton>
        {curlCommand && (
          <CopyButton text={curlCommand} label="Copy as curl command">
            Copy as curl command
          </CopyButton>
        )}
      </div>
      {/* Focusable, so the keyboard can scroll a long transcript. */}
      <div className={s.pre} role="log" aria-label={`${title} lines`} tabIndex={0}>
        {lines.map((l, i) => (
          <div key={i} className={s.line}>
            <span className={s.t}>{l.t} ms</span>
            <span className={s[l.dir]}>{ARROW[l.dir]}</span>
            <span className={s[l.dir]}>{l.text}</span>
          </div>
        ))}
      </div>
      {curlCommand && <pre className={s.curl} aria-label="curl command">{curlCommand}</pre>}
    </section>
  );
}
