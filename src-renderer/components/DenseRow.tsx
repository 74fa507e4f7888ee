/**
 * One row of a dense table (see dense-table.ts): placed by the virtualizer,
 * selectable with a click, coloured per status by the class the screen
 * passes. One row of the list is a Tab stop (the selected one, else the
 * first shown): Tab reaches the list, the arrow keys move within it (see
 * useListFocus). The data attributes name the row for tests and tools.
 */
import { mergeClasses } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import { useDenseTableStyles } from './dense-table';

type DataAttributes = { [name: `data-${string}`]: string | number };

export function DenseRow({
  top,
  height,
  selected,
  tabbable,
  rowKey,
  className,
  onSelect,
  children,
  ...data
}: {
  top: number;
  height: number;
  selected: boolean;
  /** The list's one Tab stop. */
  tabbable: boolean;
  /** Identifies the row for focus moves (`data-row-key`). */
  rowKey: number;
  className?: string | undefined;
  onSelect: () => void;
  children: ReactNode;
} & DataAttributes) {
  const t = useDenseTableStyles();
  return (
    <div
      role="row"
      aria-selected={selected}
      tabIndex={tabbable ? 0 : -1}
      data-row-key={rowKey}
      {...data}
      className={mergeClasses(t.row, className, selected && t.rowSelected)}
      style={{ top, height }}
      onClick={onSelect}
    >
      {children}
    </div>
  );
}
