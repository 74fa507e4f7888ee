/**
 * One row of a dense table (see dense-table.ts): placed by the virtualizer,
 * selectable with a click, coloured per status by the class the screen
 * passes. The data attributes name the row for tests and tools.
 */
import { mergeClasses } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import { useDenseTableStyles } from './dense-table';

type DataAttributes = { [name: `data-${string}`]: string | number };

export function DenseRow({
  top,
  height,
  selected,
  className,
  onSelect,
  children,
  ...data
}: { top: number; height: number; selected: boolean; className?: string | undefined; onSelect: () => void; children: ReactNode } & DataAttributes) {
  const t = useDenseTableStyles();
  return (
    <div role="row" aria-selected={selected} {...data} className={mergeClasses(t.row, className, selected && t.rowSelected)} style={{ top, height }} onClick={onSelect}>
      {children}
    </div>
  );
}
