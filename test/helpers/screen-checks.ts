/**
 * Checks that every screen of the console is held to, at every size and in
 * both themes (issue 13, "checks that stay"):
 *
 * - layout: no visible element sticks out of its container unless that
 *   container scrolls, no text runs past its element, and no two controls
 *   (buttons, inputs, links, badges, tabs, rows...) overlap: a DOM check on
 *   the boxes the browser laid out;
 * - axe-core (through @axe-core/playwright) finds no serious or critical
 *   violation;
 * - the keyboard: Tab reaches every control that takes focus, visits the
 *   regions of the screen (navigation, toolbar, list, detail) in the order the
 *   screen lists them, never jumps back up and left within a region, and each
 *   focused control shows a visible change (compared pixel by pixel with the
 *   same spot unfocused).
 *
 * A screen is one row of a table (`ScreenCheck`): its name, how to bring the
 * page to it, and the regions Tab must visit in order. Each check saves a
 * screenshot `<name>-<width>x<height>-<theme>.png` under
 * test-results/screenshots for a person to look at.
 */
import { AxeBuilder } from '@axe-core/playwright';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { SCREENSHOT_DIR } from './browser';

/** Where a focused control sits, by the landmarks and `data-region` marks of the shell. */
export type Region = 'skip' | 'header' | 'navigation' | 'toolbar' | 'list' | 'detail' | 'dialog' | 'main' | 'outside';

export interface ScreenCheck {
  /** File-name-safe name of the screen (`logs-detail`). */
  name: string;
  /** The address to load, relative to the console (`#/logs`). */
  route: string;
  /** Brings the freshly loaded page to the state to check: data shown, detail open, dialog up. */
  open(page: Page): Promise<void>;
  /** The regions Tab must visit, in this order (others, such as the header, may come between). */
  tabOrder: Region[];
  /** Undoes what `open` changed outside the page (a bundle opened in the session). Runs after the checks, pass or fail. */
  close?(page: Page): Promise<void>;
}

export interface ViewportSize {
  width: number;
  height: number;
}

export type ThemeName = 'light' | 'dark';

/** The sizes every screen is held to: a common laptop and the onsite PCs' 1024x768. */
export const SCREEN_SIZES: readonly ViewportSize[] = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
];
export const THEMES: readonly ThemeName[] = ['light', 'dark'];

export interface ScreenReport {
  screenshot: string;
  faults: string[];
  /** The controls Tab visited, in order, as short descriptions (for a failing test's message). */
  tabWalk: string[];
}

/** What the page reports about one element. */
interface ElementInfo {
  what: string;
  region: Region;
  /** Position in the scrolled content (so scrolling does not fake an order). */
  top: number;
  left: number;
  /** The visible box in the viewport. */
  box: { x: number; y: number; width: number; height: number } | null;
}

/** Runs every check of one screen at one size and theme, and saves its screenshot. */
export async function checkScreen(page: Page, baseUrl: string, screen: ScreenCheck, size: ViewportSize, theme: ThemeName): Promise<ScreenReport> {
  await page.setViewportSize(size);
  // A fresh load in the theme: the shell reads the remembered choice at start.
  await page.goto(`${baseUrl}/#/`);
  await page.evaluate((t) => localStorage.setItem('mailroom.theme', t), theme);
  await page.goto('about:blank');
  await page.goto(`${baseUrl}/${screen.route}`);
  await page.waitForFunction((t) => document.documentElement.style.colorScheme === t, theme);
  await screen.open(page);
  // The pointer rests where nothing reacts to it (bottom left, the navigation's empty end).
  await page.mouse.move(2, size.height - 2);
  await settle(page);

  const faults: string[] = [];
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const screenshot = path.join(SCREENSHOT_DIR, `${screen.name}-${size.width}x${size.height}-${theme}.png`);
  await page.screenshot({ path: screenshot, animations: 'disabled' });

  faults.push(...(await page.evaluate(layoutFaults)));
  faults.push(...(await axeFaults(page)));
  const walk = await tabWalk(page, screen);
  faults.push(...walk.faults);
  return { screenshot, faults, tabWalk: walk.visited };
}

/** Waits until fonts, transitions and pending renders are done. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await document.fonts.ready;
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  });
  // Fluent's transitions (menus, dialogs, switches) last at most a few hundred ms.
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), undefined, { timeout: 5_000 }).catch(() => undefined);
}

/** axe-core's serious and critical violations, one line each. */
async function axeFaults(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      ...v,
      // Tabster's focus sentinels (<i data-tabster-dummy aria-hidden tabindex=0>, inside Fluent's dialogs and
      // tab lists) are focusable and hidden on purpose: they hand focus on at once (microsoft/tabster#288;
      // Accessibility Insights suppresses the same false positive). Every other aria-hidden-focus counts.
      nodes: v.id === 'aria-hidden-focus' ? v.nodes.filter((n) => !n.html.includes('data-tabster-dummy')) : v.nodes,
    }))
    .filter((v) => v.nodes.length > 0)
    .flatMap((v) => v.nodes.slice(0, 5).map((n) => `axe ${v.impact} ${v.id}: ${v.help} at ${n.target.join(' ')}${n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)})` : ''}`));
}

/**
 * Runs in the page. Elements that stick out of their container (unless the
 * container scrolls, or truncates with an ellipsis on purpose), text that
 * runs past its element, and controls whose visible boxes overlap.
 */
function layoutFaults(): string[] {
  const faults: string[] = [];
  const name = (el: Element): string => {
    const label = el.getAttribute('aria-label') || el.getAttribute('title') || el.getAttribute('name') || (el.textContent ?? '').trim().replace(/\s+/g, ' ');
    const data = [...el.attributes].filter((a) => a.name.startsWith('data-') && !a.name.startsWith('data-tabster') && !a.name.startsWith('data-fui')).map((a) => `[${a.name}="${a.value}"]`).join('');
    const role = el.getAttribute('role');
    const cls = typeof el.className === 'string' ? el.className.split(/\s+/).find((c) => c.startsWith('fui-')) : undefined;
    return `<${el.tagName.toLowerCase()}${role ? ` role=${role}` : ''}${cls ? ` .${cls}` : ''}${data}> "${label.slice(0, 50)}"`;
  };
  const shown = (el: Element): boolean => el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
  const scrolls = (cs: CSSStyleDeclaration) => /(auto|scroll)/.test(cs.overflowX);
  const clips = (cs: CSSStyleDeclaration) => cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
  const outOfFlow = (cs: CSSStyleDeclaration) => cs.position === 'absolute' || cs.position === 'fixed';

  // 1. Sticking out of the container, and text running past its element.
  for (const el of document.body.querySelectorAll('*')) {
    if (el instanceof SVGElement) continue;
    if (!shown(el)) continue;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    let parent = el.parentElement;
    while (parent && getComputedStyle(parent).display === 'contents') parent = parent.parentElement;
    if (parent && !outOfFlow(cs)) {
      const pcs = getComputedStyle(parent);
      const truncates = pcs.textOverflow === 'ellipsis' && clips(pcs);
      if (!scrolls(pcs) && !truncates) {
        const pr = parent.getBoundingClientRect();
        // A negative margin bleeds on purpose (Fluent's dialog content makes room for focus outlines that way).
        const bleedLeft = Math.max(0, -parseFloat(cs.marginLeft));
        const bleedRight = Math.max(0, -parseFloat(cs.marginRight));
        const over = Math.max(r.right - pr.right - bleedRight, pr.left - r.left - bleedLeft);
        if (over > 1.5) faults.push(`overflow: ${name(el)} sticks out of ${name(parent)} by ${Math.round(over)}px`);
      }
    }
    if (cs.display !== 'inline' && !clips(cs)) {
      for (const node of el.childNodes) {
        const text = node.textContent ?? '';
        if (node.nodeType !== Node.TEXT_NODE || !text.trim()) continue;
        // The visible characters only: spaces kept by pre-wrap may hang past the edge without showing.
        const range = document.createRange();
        range.setStart(node, text.length - text.trimStart().length);
        range.setEnd(node, text.trimEnd().length);
        const tr = range.getBoundingClientRect();
        // Where spaces are kept (pre-wrap), a space at the end of a wrapped line hangs past the edge unseen.
        const hanging = /^(pre-wrap|break-spaces)$/.test(cs.whiteSpace) ? parseFloat(cs.fontSize) : 0;
        const over = Math.max(tr.right - r.right - hanging, r.left - tr.left);
        if (over > 1.5) faults.push(`overflow: the text "${text.trim().slice(0, 40)}" runs ${Math.round(over)}px past ${name(el)}`);
      }
    }
  }

  // 2. Controls overlapping: their boxes as far as they are visible (cut by clipping ancestors and the window).
  const CONTROLS =
    'button, a[href], input:not([type="hidden"]), select, textarea, [role="button"], [role="link"], [role="tab"], [role="checkbox"], [role="radio"], [role="switch"], [role="combobox"], [role="menuitem"], [role="row"][tabindex], .fui-Badge';
  const visibleBox = (el: Element): DOMRect | null => {
    const r = el.getBoundingClientRect();
    let left = Math.max(r.left, 0);
    let top = Math.max(r.top, 0);
    let right = Math.min(r.right, innerWidth);
    let bottom = Math.min(r.bottom, innerHeight);
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (!clips(getComputedStyle(a))) continue;
      const ar = a.getBoundingClientRect();
      left = Math.max(left, ar.left);
      top = Math.max(top, ar.top);
      right = Math.min(right, ar.right);
      bottom = Math.min(bottom, ar.bottom);
    }
    return right - left > 0 && bottom - top > 0 ? new DOMRect(left, top, right - left, bottom - top) : null;
  };
  // While a modal dialog is open, only what is on top of the backdrop counts.
  const modal = document.querySelector('[role="dialog"][aria-modal="true"], [role="alertdialog"][aria-modal="true"]');
  const controls = [...document.querySelectorAll(CONTROLS)]
    .filter((el) => shown(el) && (!modal || modal.contains(el)))
    .map((el) => ({ el, box: visibleBox(el) }))
    .filter((c): c is { el: Element; box: DOMRect } => c.box !== null);
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = controls[i]!;
      const b = controls[j]!;
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (w > 2 && h > 2) faults.push(`overlap: ${name(a.el)} and ${name(b.el)} overlap by ${Math.round(w)}x${Math.round(h)}px`);
    }
  }
  return faults;
}

/** The page-side helpers of the keyboard checks, installed once per load as `window.__screenCheck`. */
interface PageHelpers {
  describe(el: Element): ElementInfo;
  focused(): (Element & { __tabStop?: string }) | null;
}

/** Runs in the page: installs `window.__screenCheck`. */
function installPageHelpers(): void {
  const regionOf = (e: Element): Region => {
    if (e.closest('[role="dialog"], [role="alertdialog"]')) return 'dialog';
    const marked = e.closest('[data-region]');
    if (marked) return marked.getAttribute('data-region') as Region;
    if (e.closest('header')) return 'header';
    if (e.closest('nav')) return 'navigation';
    if (e.closest('aside')) return 'detail';
    if (e.closest('[role="grid"], [role="table"], table')) return 'list';
    if (e.closest('[role="toolbar"], [role="search"]')) return 'toolbar';
    if (e.closest('main')) return 'main';
    return 'outside';
  };
  const helpers: PageHelpers = {
    describe(el) {
      const label = el.getAttribute('aria-label') || el.getAttribute('title') || el.getAttribute('name') || (el.textContent ?? '').trim().replace(/\s+/g, ' ');
      const role = el.getAttribute('role');
      const region = regionOf(el);
      let top = 0;
      let left = 0;
      for (let a = el.parentElement; a; a = a.parentElement) {
        top += a.scrollTop;
        left += a.scrollLeft;
      }
      const r = el.getBoundingClientRect();
      const x = Math.max(0, r.left - 4);
      const y = Math.max(0, r.top - 4);
      const width = Math.min(innerWidth, r.right + 4) - x;
      const height = Math.min(innerHeight, r.bottom + 4) - y;
      return {
        what: `${region}: <${el.tagName.toLowerCase()}${role ? ` role=${role}` : ''}> "${label.slice(0, 40)}"`,
        region,
        top: r.top + top,
        left: r.left + left,
        box: width > 0 && height > 0 ? { x, y, width, height } : null,
      };
    },
    focused() {
      const el = document.activeElement;
      return !el || el === document.body || el === document.documentElement ? null : el;
    },
  };
  (window as unknown as { __screenCheck: PageHelpers }).__screenCheck = helpers;
}

/** Runs in the page: every control that should be a Tab stop, described as `describe` does. */
function expectedTabStops(): string[] {
  const helpers = (window as unknown as { __screenCheck: PageHelpers }).__screenCheck;
  const out: string[] = [];
  const candidates = document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]');
  const dialog = document.querySelector('[role="dialog"], [role="alertdialog"]');
  for (const el of candidates) {
    if (el.tabIndex < 0 || el.hasAttribute('disabled') || el.hasAttribute('data-tabster-dummy')) continue;
    if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
    if (dialog && !dialog.contains(el)) continue;
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    // Composite widgets are one Tab stop with arrow keys inside (ARIA): tabs, menus, radio groups.
    const role = el.getAttribute('role');
    if (role === 'tab' || role === 'menuitem' || role === 'option') continue;
    if (el instanceof HTMLInputElement && el.type === 'radio' && !el.checked && el.name && document.querySelector(`input[type="radio"][name="${CSS.escape(el.name)}"]:checked`)) continue;
    out.push(helpers.describe(el).what);
  }
  return out;
}

const MAX_TAB_STOPS = 250;

/**
 * Presses Tab through the screen: from the top of a page, or from the
 * focused control of a dialog, until focus comes back round. Checks the order
 * of the regions, that no control is skipped, that the order does not jump
 * back up and left within a region, and that each focused control looks
 * focused.
 */
async function tabWalk(page: Page, screen: ScreenCheck): Promise<{ faults: string[]; visited: string[] }> {
  const faults: string[] = [];
  await page.evaluate(installPageHelpers);
  const expected = await page.evaluate(expectedTabStops);
  const inDialog = screen.tabOrder.length === 1 && screen.tabOrder[0] === 'dialog';
  if (!inDialog) {
    // Start from the top of the document, as after loading the page (a click moves where Tab starts from).
    await page.evaluate(() => {
      const start = document.createElement('span');
      start.tabIndex = -1;
      start.id = 'screen-check-start';
      document.body.prepend(start);
      start.focus();
    });
  }
  const current = () =>
    page.evaluate(() => {
      const helpers = (window as unknown as { __screenCheck: PageHelpers }).__screenCheck;
      const el = helpers.focused();
      if (!el || el.hasAttribute('data-tabster-dummy')) return null;
      el.__tabStop ??= `stop-${Math.random().toString(36).slice(2)}`;
      return { id: el.__tabStop, info: helpers.describe(el) };
    });
  if (inDialog) {
    // From the dialog's first control, as when it opens (filling fields in `open` left focus elsewhere).
    await page.evaluate(() => {
      const dialog = document.querySelector<HTMLElement>('[role="dialog"], [role="alertdialog"]');
      const first = [...(dialog?.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]') ?? [])].find(
        (el) => el.tabIndex >= 0 && !el.hasAttribute('disabled') && !el.hasAttribute('data-tabster-dummy') && el.checkVisibility(),
      );
      first?.focus();
    });
  }
  const stops: ElementInfo[] = [];
  const seen = new Set<string>();
  const start = inDialog ? await current() : null;
  if (start) {
    stops.push(start.info);
    seen.add(start.id);
  }
  for (let i = 0; i < MAX_TAB_STOPS; i++) {
    await page.keyboard.press('Tab');
    if (i === 0 && !inDialog) await page.evaluate(() => document.getElementById('screen-check-start')?.remove());
    const now = await current();
    if (!now) {
      if (stops.length > 0) break; // focus left the document: the walk is complete
      continue;
    }
    if (seen.has(now.id)) break; // round once
    seen.add(now.id);
    stops.push(now.info);
    if (!now.info.box) {
      faults.push(`focus: ${now.info.what} takes focus but is not on screen when focused`);
      continue;
    }
    if (!(await focusIsVisible(page, now.info.box))) faults.push(`focus: ${now.info.what} shows no visible focus indicator`);
  }
  if (stops.length >= MAX_TAB_STOPS) faults.push(`tab: more than ${MAX_TAB_STOPS} Tab stops; the walk was cut off`);

  const visited = stops.map((s) => s.what);
  // Every control that takes focus is reached.
  const reached = new Set(visited);
  for (const what of expected) if (!reached.has(what)) faults.push(`tab: ${what} is never reached with Tab`);

  // The regions come in the listed order, each once.
  const order = stops
    .map((s) => s.region)
    .filter((r) => screen.tabOrder.includes(r))
    .filter((r, i, all) => i === 0 || all[i - 1] !== r);
  if (order.join(' > ') !== screen.tabOrder.join(' > ')) faults.push(`tab: regions are visited as ${order.join(' > ')}, expected ${screen.tabOrder.join(' > ')}`);

  // Within a region, Tab moves on in reading order: never back up and to the left.
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1]!;
    const b = stops[i]!;
    if (a.region !== b.region) continue;
    if (b.top < a.top - 8 && b.left < a.left - 8) faults.push(`tab: from ${a.what} back up and left to ${b.what}`);
  }
  return { faults, visited };
}

/**
 * True when the focused control looks different from the same spot
 * unfocused: first by the styles that draw focus indicators (outline,
 * shadow, border and background of the control, its ::before and ::after,
 * and its parent's, where Fluent draws an input's underline), else by the
 * pixels of the spot.
 */
async function focusIsVisible(page: Page, box: NonNullable<ElementInfo['box']>): Promise<boolean> {
  const styled = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return false;
    // What an indicator draws, only where it shows: an outline that has a style and a width, a border that has a width.
    const look = (cs: CSSStyleDeclaration) =>
      [
        cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 ? `outline ${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}` : '',
        cs.boxShadow,
        ...(['Top', 'Right', 'Bottom', 'Left'] as const).map((side) => (parseFloat(cs.getPropertyValue(`border-${side.toLowerCase()}-width`)) > 0 ? cs.getPropertyValue(`border-${side.toLowerCase()}-color`) : '')),
        cs.backgroundColor,
        cs.color,
        cs.textDecorationLine,
      ].join('|');
    const snapshot = () =>
      [el, el.parentElement]
        .flatMap((e) => (e ? [getComputedStyle(e), getComputedStyle(e, '::before'), getComputedStyle(e, '::after')] : []))
        .filter((cs) => cs.content !== 'none')
        .map(look)
        .join('\n');
    const focused = snapshot();
    el.blur();
    const plain = snapshot();
    el.focus({ preventScroll: true });
    return focused !== plain;
  });
  if (styled) return true;
  const focused = await page.screenshot({ clip: box, animations: 'disabled' });
  await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    (window as unknown as { __blurred?: HTMLElement | null }).__blurred = el;
    el?.blur();
  });
  const plain = await page.screenshot({ clip: box, animations: 'disabled' });
  await page.evaluate(() => (window as unknown as { __blurred?: HTMLElement | null }).__blurred?.focus({ preventScroll: true }));
  return !focused.equals(plain);
}
