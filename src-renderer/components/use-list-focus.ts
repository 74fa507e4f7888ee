/**
 * Keyboard focus in a virtualized dense list: which row is the list's Tab
 * stop (the selected row when it is rendered, else the first rendered row),
 * and moving focus to the selected row when the arrow keys changed the
 * selection while focus was in the list (the row may render only after the
 * virtualizer scrolled to it).
 */
import { useEffect, useRef, type RefObject } from 'react';

export function useListFocus(scrollRef: RefObject<HTMLElement | null>, selectedId: number | undefined, renderedIds: readonly number[]): { tabbableId: number | undefined; followSelection(): void } {
  const follow = useRef(false);
  const tabbableId = selectedId !== undefined && renderedIds.includes(selectedId) ? selectedId : renderedIds[0];
  useEffect(() => {
    if (!follow.current || selectedId === undefined) return;
    const row = scrollRef.current?.querySelector<HTMLElement>(`[data-row-key="${selectedId}"]`);
    if (row) {
      follow.current = false;
      row.focus({ preventScroll: true });
    }
  });
  return {
    tabbableId,
    /** Call when a key changed the selection: focus follows it once the row is rendered. */
    followSelection: () => {
      follow.current = scrollRef.current?.contains(document.activeElement) ?? false;
    },
  };
}
