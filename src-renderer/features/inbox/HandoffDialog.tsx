/**
 * The handoff folder of a mailbox: where every imported message is also
 * written as an .eml file for the next system. The folder must exist and be
 * writable on the computer that runs Mailroom's engine.
 */
import { Body1, Button, Caption1, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Field, Input } from '@fluentui/react-components';
import { useState } from 'react';
import type { ReceiveState } from '../../../src-main/shared/inbox.js';
import { api, ApiError } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';

export function HandoffDialog({ state, onClose, onSaved }: { state: ReceiveState; onClose(): void; onSaved(message: string): void }) {
  const [dir, setDir] = useState(state.handoffDir ?? '');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const fieldError = error instanceof ApiError ? error.issues?.find((i) => i.path === 'handoffDir')?.message : undefined;

  const save = async (handoffDir: string | null) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.inbox.saveSettings({ mailboxId: state.mailboxId, handoffDir });
      onSaved(handoffDir ? `${state.mailboxName}: imported messages are also written to ${handoffDir}.` : `${state.mailboxName}: the handoff folder is off.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Handoff folder: {state.mailboxName}</DialogTitle>
          <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
            <Body1>
              Every message imported from this mailbox is also written to this folder as an .eml file, for the system that takes the mail next. Each file appears complete or not at all (it is written under a hidden
              temporary name, then renamed).
            </Body1>
            <Field label="Folder" validationState={fieldError ? 'error' : 'none'} validationMessage={fieldError} hint="An existing folder on the computer that runs Mailroom, such as D:\Mailroom\handoff or \\server\share\handoff.">
              <Input value={dir} onChange={(_e, d) => setDir(d.value)} placeholder="D:\Mailroom\handoff" />
            </Field>
            {error && !fieldError ? <ErrorBar error={error} /> : null}
            <Caption1>Messages imported before the folder is set are not written.</Caption1>
          </DialogContent>
          <DialogActions>
            {state.handoffDir && (
              <Button disabled={busy} onClick={() => void save(null)}>
                Turn off
              </Button>
            )}
            <Button onClick={onClose}>Cancel</Button>
            <Button appearance="primary" disabled={busy || !dir.trim()} onClick={() => void save(dir.trim())}>
              Save
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
