/**
 * Arrow keys that move focus between the items of a group (navigation,
 * toolbar, list rows) while Tab still stops at each item. Fluent's arrow
 * navigation groups make a group one Tab stop, which hid the navigation items
 * after the first, the toolbar buttons and the list rows from Tab (issue 13).
 */
import type { KeyboardEvent } from 'react';

const FOCUSABLE = 'button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';


/**
 * A keydown handler for the group's container: Up/Down (vertical) or
 * Left/Right (horizontal), Home and End move focus among the items that
 * match `selector`. Keys typed into an input are left alone. For a list
 * with one Tab stop (its rows carry tabindex -1 but one), pass the rows'
 * selector, e.g. `'tbody tr'`.
 */
export function arrowKeys(axis: 'vertical' | 'horizontal', selector = FOCUSABLE) {
  const [back, forward] = axis === 'vertical' ? ['ArrowUp', 'ArrowDown'] : ['ArrowLeft', 'ArrowRight'];
  return (event: KeyboardEvent<HTMLElement>) => {
    if (event.key !== back && event.key !== forward && event.key !== 'Home' && event.key !== 'End') return;
    const target = event.target as HTMLElement;
    if (target.closest('input, select, textarea')) return;
    const items = [...event.currentTarget.querySelectorAll<HTMLElement>(selector)].filter((el) => el.offsetParent !== null || el === target);
    const index = items.indexOf(target.closest<HTMLElement>(selector) ?? target);
    if (index < 0) return;
    const next = event.key === 'Home' ? 0 : event.key === 'End' ? items.length - 1 : (index + (event.key === forward ? 1 : -1) + items.length) % items.length;
    event.preventDefault();
    items[next]?.focus();
  };
}
