import { Button, Tooltip } from '@fluentui/react-components';
import { CheckmarkRegular, CopyRegular } from '@fluentui/react-icons';
import { useState, type ReactNode } from 'react';
import { copyText } from './copy';

/** A button that copies text and confirms it for a moment. */
export function CopyButton({ text, label, children, size = 'small' }: { text: string; label: string; children?: ReactNode; size?: 'small' | 'medium' }) {
  const [done, setDone] = useState(false);
  const button = (
    <Button
      size={size}
      appearance={children ? 'secondary' : 'subtle'}
      icon={done ? <CheckmarkRegular /> : <CopyRegular />}
      aria-label={children ? undefined : label}
      onClick={async () => {
        if (await copyText(text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        }
      }}
    >
      {children ? (done ? 'Copied' : children) : null}
    </Button>
  );
  return children ? button : <Tooltip content={done ? 'Copied' : label} relationship="label">{button}</Tooltip>;
}
