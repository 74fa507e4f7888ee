/**
 * The read-only context of the screens: while a diagnostics bundle is open,
 * every control whose channel the session would refuse is disabled (still
 * focusable, so its reason can be read) and says why, instead of failing
 * after the admin filled a form. One list decides, shared with the session:
 * src-main/shared/read-only.ts.
 */
import { Button, Tooltip, type ButtonProps } from '@fluentui/react-components';
import { createContext, forwardRef, useContext, type ReactNode } from 'react';
import { READ_ONLY_REASON, allowedInBundleView } from '../../src-main/shared/read-only.js';

/** What the screens consult: is a bundle open (read-only), and what a disabled control says. */
export interface ReadOnlyState {
  readOnly: boolean;
  reason: string;
  /** When a bundle is open, the time it was made: ages ("3 h ago") are told as of then, as the live screen told them. */
  asOf: number | null;
}

const ReadOnlyContext = createContext<ReadOnlyState>({ readOnly: false, reason: READ_ONLY_REASON, asOf: null });

/** Provided once by the shell from the view state. */
export function ReadOnlyProvider({ readOnly, asOf = null, children }: { readOnly: boolean; asOf?: number | null; children: ReactNode }) {
  return <ReadOnlyContext.Provider value={{ readOnly, reason: READ_ONLY_REASON, asOf: readOnly ? asOf : null }}>{children}</ReadOnlyContext.Provider>;
}

/** The read-only state of the screens. */
export function useReadOnly(): ReadOnlyState {
  return useContext(ReadOnlyContext);
}

/** Whether a control that calls `channel` can be used now; `reason` says why not. */
export function useChannel(channel: string): { blocked: boolean; reason: string | undefined } {
  const { readOnly, reason } = useReadOnly();
  const blocked = readOnly && !allowedInBundleView(channel);
  return { blocked, reason: blocked ? reason : undefined };
}

/**
 * A button that calls a changing channel (or opens the form that does): in a
 * bundle's read-only view it is disabled but focusable, with the reason as
 * its description.
 */
export const ChangeButton = forwardRef<HTMLButtonElement, ButtonProps & { channel: string }>(function ChangeButton({ channel, ...props }, ref) {
  const { blocked, reason } = useChannel(channel);
  if (!blocked) return <Button ref={ref} {...props} />;
  return (
    <Tooltip content={reason!} relationship="description">
      <Button ref={ref} {...props} disabled={false} disabledFocusable onClick={undefined} data-read-only="true" />
    </Tooltip>
  );
});
