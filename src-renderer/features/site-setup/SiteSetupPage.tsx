/**
 * The Site setup screen: for the help-desk installation that the mailboxes
 * serve, the version-aware checklist, the cURL mail registry switch as SQL
 * to copy, and the web.config NewAuthentication feature toggle (check a file
 * on this computer or pasted text, see the diff, save with a backup).
 */
import { Body1, Title3, makeStyles, tokens } from '@fluentui/react-components';
import { useRef, useState } from 'react';
import { ChecklistCard, VersionCard } from './ChecklistPanel';
import { RegistrySqlCard } from './RegistrySqlPanel';
import { WebConfigCard } from './WebConfigPanel';

const VERSION_KEY = 'mailroom.site.version';

const useStyles = makeStyles({
  // One column of cards: side by side, the web.config diff was squeezed into a narrow column beside an empty one.
  page: { display: 'flex', flexDirection: 'column', gap: '12px', padding: '16px 20px', minHeight: '100%', maxWidth: '1100px' },
  titleRow: { display: 'flex', flexDirection: 'column', gap: '2px' },
  muted: { color: tokens.colorNeutralForeground3 },
});

export function SiteSetupPage() {
  const s = useStyles();
  const [version, setVersion] = useState<string>(() => localStorage.getItem(VERSION_KEY) ?? '');
  const [tablePrefix, setTablePrefix] = useState<string>();
  const webConfigRef = useRef<HTMLElement>(null);
  const registryRef = useRef<HTMLElement>(null);

  const chooseVersion = (value: string) => {
    setVersion(value);
    if (value) localStorage.setItem(VERSION_KEY, value);
    else localStorage.removeItem(VERSION_KEY);
  };
  const goTo = (target: 'registry-sql' | 'web-config') => {
    const element = (target === 'registry-sql' ? registryRef : webConfigRef).current;
    element?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    element?.querySelector<HTMLElement>('input, textarea, button')?.focus({ preventScroll: true });
  };

  return (
    <div className={s.page}>
      <div className={s.titleRow}>
        <Title3 as="h1" id="site-setup-title">
          Site setup
        </Title3>
        <Body1 className={s.muted}>
          SuperOffice Service: what your version needs for mail. Mailroom never connects to the help-desk database; it edits web.config only after you have seen the diff.
        </Body1>
      </div>
      <VersionCard version={version} onChange={chooseVersion} />
      <ChecklistCard version={version} onAction={goTo} />
      <WebConfigCard ref={webConfigRef} onTablePrefix={setTablePrefix} />
      <RegistrySqlCard ref={registryRef} suggestedSchema={tablePrefix} />
    </div>
  );
}
