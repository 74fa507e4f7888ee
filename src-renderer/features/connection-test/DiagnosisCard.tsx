/** The one diagnosis of a failed test: code, summary, what to change, the server's reply; and the warnings of a test (amber). */
import { Badge, Body1, Caption1, Text, makeStyles, tokens } from '@fluentui/react-components';
import { ErrorCircleFilled, LightbulbRegular, WarningFilled } from '@fluentui/react-icons';
import { CONNECTION_TEST_TITLES, type Diagnosis, type TestWarning } from '../../../src-main/shared/diagnosis.js';
import { CopyButton } from '../../components/CopyButton';
import { STEP_LABELS } from './StepList';

const useStyles = makeStyles({
  card: {
    border: `1px solid ${tokens.colorPaletteRedBorder2}`,
    borderLeft: `4px solid ${tokens.colorPaletteRedBorderActive}`,
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorPaletteRedBackground1,
    padding: '12px 14px',
    display: 'flex',
    flexDirection: 'column',
    gap: '8px',
    // Summaries name long tokens (cipher suites, host names): they wrap rather than leave the card.
    overflowWrap: 'anywhere',
  },
  head: { display: 'flex', alignItems: 'center', gap: '8px', flexWrap: 'wrap' },
  icon: { color: tokens.colorPaletteRedForeground1, fontSize: '20px' },
  title: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400 },
  hint: { display: 'flex', gap: '8px', alignItems: 'flex-start', backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, padding: '8px 10px' },
  hintIcon: { color: tokens.colorPaletteYellowForeground2, fontSize: '20px', flexShrink: 0 },
  reply: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, whiteSpace: 'pre-wrap', wordBreak: 'break-word', backgroundColor: tokens.colorNeutralBackground1, padding: '6px 8px', borderRadius: tokens.borderRadiusSmall, margin: 0 },
  muted: { color: tokens.colorNeutralForeground3 },
  warningCard: {
    border: `1px solid ${tokens.colorPaletteMarigoldBorder2}`,
    borderLeft: `4px solid ${tokens.colorPaletteMarigoldBorderActive}`,
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorPaletteMarigoldBackground1,
    padding: '12px 14px',
    display: 'flex',
    flexDirection: 'column',
    gap: '8px',
    overflowWrap: 'anywhere',
  },
  warningIcon: { color: tokens.colorPaletteMarigoldForeground1, fontSize: '20px' },
});

/** Titles of the warning codes a test can carry. */
const WARNING_TITLES: Record<string, string> = {
  PLAINTEXT_SIGN_IN: 'Signed in without encryption',
  RELAY_FROM_NOT_ALLOWED: "The relay keeps an application's From address",
};

/** One warning of a test that passed: amber, with the code, what is wrong and what to change. */
export function WarningCard({ warning }: { warning: TestWarning }) {
  const s = useStyles();
  return (
    <section className={s.warningCard} role="status" aria-label={`Warning ${warning.code}`} data-warning={warning.code}>
      <div className={s.head}>
        <WarningFilled className={s.warningIcon} aria-hidden />
        <Text className={s.title}>{WARNING_TITLES[warning.code] ?? 'Warning'}</Text>
        <Badge appearance="outline" color="warning" shape="rounded">
          {warning.code}
        </Badge>
        <CopyButton text={warning.code} label="Copy the code" />
        {warning.step && <Caption1 className={s.muted}>at step: {STEP_LABELS[warning.step]}</Caption1>}
      </div>
      <Body1>{warning.message}</Body1>
      <div className={s.hint}>
        <LightbulbRegular className={s.hintIcon} aria-hidden />
        <Body1>
          <strong>What to change: </strong>
          {warning.hint}
        </Body1>
      </div>
    </section>
  );
}

export function DiagnosisCard({ diagnosis }: { diagnosis: Diagnosis }) {
  const s = useStyles();
  return (
    <section className={s.card} role="alert" aria-label={`Diagnosis ${diagnosis.code}`} data-diagnosis={diagnosis.code}>
      <div className={s.head}>
        <ErrorCircleFilled className={s.icon} aria-hidden />
        <Text className={s.title}>{CONNECTION_TEST_TITLES[diagnosis.code]}</Text>
        <Badge appearance="outline" color="danger" shape="rounded">
          {diagnosis.code}
        </Badge>
        <CopyButton text={diagnosis.code} label="Copy the code" />
        <Caption1 className={s.muted}>at step: {STEP_LABELS[diagnosis.step]}</Caption1>
      </div>
      <Body1>{diagnosis.summary}</Body1>
      <div className={s.hint}>
        <LightbulbRegular className={s.hintIcon} aria-hidden />
        <Body1>
          <strong>What to change: </strong>
          {diagnosis.hint}
        </Body1>
      </div>
      {diagnosis.serverReply && (
        <div>
          <Caption1 className={s.muted}>The server replied:</Caption1>
          <pre className={s.reply}>{diagnosis.serverReply}</pre>
        </div>
      )}
    </section>
  );
}
