/** The outcome of a poll started from the Inbox screen, with the transcript of Import with debug. */
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, MessageBar, MessageBarBody, MessageBarTitle, Caption1, makeStyles } from '@fluentui/react-components';
import { isPop3Folder, type PollDetail } from '../../../src-main/shared/inbox.js';
import { CopyButton } from '../../components/CopyButton';
import { TranscriptPanel } from '../connection-test/TranscriptPanel';
import { pollSummary } from './inbox-format';

const useStyles = makeStyles({ content: { display: 'flex', flexDirection: 'column', gap: '12px' } });

export function PollResultDialog({ mailboxName, poll, onClose }: { mailboxName: string; poll: PollDetail; onClose(): void }) {
  const s = useStyles();
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface style={{ maxWidth: '1000px', width: '92vw' }}>
        <DialogBody>
          <DialogTitle>
            {poll.trigger === 'debug' ? 'Import with debug' : 'Poll'}: {mailboxName}
          </DialogTitle>
          <DialogContent className={s.content}>
            {poll.outcome === 'ok' ? (
              <MessageBar intent="success" role="status">
                <MessageBarBody>
                  <MessageBarTitle>Poll #{poll.id} worked</MessageBarTitle>
                  {pollSummary(poll)}.{poll.resynced ? ' The folder was renumbered on the server and was resynchronised.' : ''}
                </MessageBarBody>
              </MessageBar>
            ) : (
              <MessageBar intent="error" layout="multiline" role="alert">
                <MessageBarBody>
                  <MessageBarTitle>{poll.message}</MessageBarTitle>
                  {poll.hint && <div>{poll.hint}</div>}
                  <Caption1>
                    Code: {poll.code} <CopyButton text={poll.code ?? ''} label="Copy the code" /> · So far: {pollSummary(poll)}
                  </Caption1>
                </MessageBarBody>
              </MessageBar>
            )}
            {poll.transcript.length > 0 && <TranscriptPanel title={`${isPop3Folder(poll.folder) ? 'POP3' : 'IMAP'} transcript of poll #${poll.id}`} lines={poll.transcript} />}
          </DialogContent>
          <DialogActions>
            <Button appearance="primary" onClick={onClose}>
              Close
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
