/**
 * The dense, virtualized table of the Logs, Outbox and Inbox screens: a
 * sticky header row and absolutely positioned rows on one grid template,
 * set per screen through the `--table-columns` CSS variable. Rows carry a
 * coloured left border per status (the screen adds that class).
 */
import { makeStyles, tokens } from '@fluentui/react-components';

export const useDenseTableStyles = makeStyles({
  table: {
    flex: 1,
    minHeight: 0,
    display: 'flex',
    flexDirection: 'column',
    backgroundColor: tokens.colorNeutralBackground1,
    borderRadius: tokens.borderRadiusMedium,
    boxShadow: tokens.shadow2,
    overflow: 'hidden',
  },
  header: {
    display: 'grid',
    gridTemplateColumns: 'var(--table-columns)',
    gap: '8px',
    padding: '0 12px',
    height: '34px',
    alignItems: 'center',
    fontWeight: tokens.fontWeightSemibold,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
    backgroundColor: tokens.colorNeutralBackground1,
    // A heading stays on its one line in a narrow column, as the cells below it do.
    '& > [role="columnheader"]': { minWidth: 0, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  },
  scroller: {
    flex: 1,
    overflow: 'auto',
    position: 'relative',
  },
  row: {
    position: 'absolute',
    left: 0,
    right: 0,
    display: 'grid',
    gridTemplateColumns: 'var(--table-columns)',
    gap: '8px',
    alignItems: 'center',
    padding: '0 12px 0 9px',
    borderLeft: '3px solid transparent',
    borderBottom: `1px solid ${tokens.colorNeutralStroke3}`,
    cursor: 'pointer',
    ':hover': { backgroundColor: tokens.colorNeutralBackground1Hover },
    ':focus-visible': { outline: `2px solid ${tokens.colorStrokeFocus2}`, outlineOffset: '-2px' },
  },
  rowSelected: { backgroundColor: tokens.colorNeutralBackground1Selected, ':hover': { backgroundColor: tokens.colorNeutralBackground1Selected } },
  cell: { overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  time: { fontVariantNumeric: 'tabular-nums', color: tokens.colorNeutralForeground2 },
});
