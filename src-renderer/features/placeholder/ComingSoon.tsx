import { Body1, Title3, makeStyles, tokens } from '@fluentui/react-components';

const useStyles = makeStyles({
  root: { padding: '32px', display: 'flex', flexDirection: 'column', gap: '8px', maxWidth: '640px' },
  muted: { color: tokens.colorNeutralForeground3 },
});

/** A screen that a later release fills in. */
export function ComingSoon({ title, text }: { title: string; text: string }) {
  const s = useStyles();
  return (
    <section className={s.root} aria-labelledby="coming-soon-title">
      <Title3 as="h1" id="coming-soon-title">{title}</Title3>
      <Body1 className={s.muted}>{text}</Body1>
      <Body1 className={s.muted}>Coming soon.</Body1>
    </section>
  );
}
