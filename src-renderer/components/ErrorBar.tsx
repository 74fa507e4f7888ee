/** Shows an engine error with its code, summary and hint: the same as the CLI's JSON. */
import { MessageBar, MessageBarBody, MessageBarTitle, Caption1 } from '@fluentui/react-components';
import { ApiError } from '../api/client';

export function ErrorBar({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError({ code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) });
  return (
    <MessageBar intent="error" layout="multiline" role="alert">
      <MessageBarBody>
        <MessageBarTitle>{e.message}</MessageBarTitle>
        {e.hint && <div>{e.hint}</div>}
        <Caption1>Code: {e.code}</Caption1>
      </MessageBarBody>
    </MessageBar>
  );
}
