/** Shows an engine error with its code, summary and hint: the same as the CLI's JSON. */
import { MessageBar, MessageBarBody, MessageBarTitle, Caption1, makeStyles } from '@fluentui/react-components';
import { ApiError } from '../api/client';

const useStyles = makeStyles({
  // Long words (a URL, a library's error code) wrap instead of running off the panel.
  body: { overflowWrap: 'anywhere', minWidth: 0 },
  detail: { display: 'block' },
});

export function ErrorBar({ error }: { error: unknown }) {
  const s = useStyles();
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError({ code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) });
  return (
    <MessageBar intent="error" layout="multiline" role="alert">
      <MessageBarBody className={s.body}>
        <MessageBarTitle>{e.message}</MessageBarTitle>
        {e.hint && <div>{e.hint}</div>}
        <Caption1>Code: {e.code}</Caption1>
        {e.detail && <Caption1 className={s.detail}>Detail: {e.detail}</Caption1>}
      </MessageBarBody>
    </MessageBar>
  );
}
