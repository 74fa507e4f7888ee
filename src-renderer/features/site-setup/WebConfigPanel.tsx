/**
 * The web.config NewAuthentication feature toggle: check a file on this
 * computer (where the engine runs) or pasted text, show which parts are
 * present and the diff of the fix, and save it after a confirmation that
 * names the backup. Pasted text is never saved anywhere: the corrected text
 * is offered to copy or download.
 */
import {
  Body1,
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Subtitle2,
  Tab,
  TabList,
  Text,
  Textarea,
  makeStyles,
  mergeClasses,
  tokens,
} from '@fluentui/react-components';
import { ArrowDownloadRegular, DocumentSearchRegular, SaveRegular } from '@fluentui/react-icons';
import { useState, type Ref } from 'react';
import { webConfigBackupName, type DiffHunk, type WebConfigApplyResult, type WebConfigCheck, type WebConfigEditPlan, type WebConfigPart } from '../../../src-main/shared/site-setup.js';
import { OAUTH_TOGGLE_VERSIONS, SITE_VERSIONS } from '../../../src-main/shared/site-versions.js';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { useSiteStyles } from './site-styles';

import { ChangeButton } from '../../components/read-only';
const PATH_KEY = 'mailroom.site.webConfigPath';

const PART_STATUS: Record<WebConfigPart['state'], { kind: StatusKind; label: string }> = {
  present: { kind: 'success', label: 'Present' },
  missing: { kind: 'warning', label: 'Missing' },
  different: { kind: 'warning', label: 'Different' },
};

const useStyles = makeStyles({
  diff: {
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    lineHeight: tokens.lineHeightBase200,
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorNeutralBackground1,
    overflow: 'auto',
    maxHeight: '360px',
  },
  diffTable: { borderCollapse: 'collapse', minWidth: '100%' },
  lineNo: { color: tokens.colorNeutralForeground3, textAlign: 'right', padding: '0 6px', userSelect: 'none', width: '1%', whiteSpace: 'nowrap' },
  marker: { width: '1%', padding: '0 4px', userSelect: 'none', fontWeight: tokens.fontWeightSemibold },
  text: { whiteSpace: 'pre', paddingRight: '12px' },
  add: { backgroundColor: tokens.colorStatusSuccessBackground1, color: tokens.colorStatusSuccessForeground3 },
  remove: { backgroundColor: tokens.colorStatusDangerBackground1, color: tokens.colorStatusDangerForeground3 },
  hunk: { backgroundColor: tokens.colorNeutralBackground3, color: tokens.colorNeutralForeground3, padding: '2px 8px' },
  textarea: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
  actions: { display: 'flex', gap: '8px', flexWrap: 'wrap', alignItems: 'center' },
  partLabel: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, display: 'block' },
  breakAll: { wordBreak: 'break-all' },
});

/** A unified diff as a table: line numbers, a +/− marker and colour (never colour alone). */
export function DiffView({ hunks, label }: { hunks: DiffHunk[]; label: string }) {
  const d = useStyles();
  return (
    <div className={d.diff} role="region" aria-label={label} tabIndex={0}>
      <table className={d.diffTable}>
        <tbody>
          {hunks.map((hunk) => [
            <tr key={`h${hunk.oldStart}-${hunk.newStart}`}>
              <td colSpan={4} className={d.hunk}>
                Lines {hunk.oldStart}–{hunk.oldStart + Math.max(hunk.oldLines - 1, 0)} of the file, {hunk.newLines - hunk.oldLines >= 0 ? `+${hunk.newLines - hunk.oldLines}` : hunk.newLines - hunk.oldLines} lines
              </td>
            </tr>,
            ...hunk.lines.map((line, i) => (
              <tr key={`${hunk.oldStart}-${hunk.newStart}-${i}`} className={line.kind === 'add' ? d.add : line.kind === 'remove' ? d.remove : undefined} data-kind={line.kind}>
                <td className={d.lineNo}>{line.oldLine ?? ''}</td>
                <td className={d.lineNo}>{line.newLine ?? ''}</td>
                <td className={d.marker} aria-label={line.kind === 'add' ? 'added' : line.kind === 'remove' ? 'removed' : undefined}>
                  {line.kind === 'add' ? '+' : line.kind === 'remove' ? '−' : ' '}
                </td>
                <td className={d.text}>{line.text}</td>
              </tr>
            )),
          ])}
        </tbody>
      </table>
    </div>
  );
}

function fileNameOf(filePath: string): string {
  return filePath.split(/[\\/]/).pop() || 'web.config';
}

function folderOf(filePath: string): string {
  const i = Math.max(filePath.lastIndexOf('\\'), filePath.lastIndexOf('/'));
  return i > 0 ? filePath.slice(0, i) : filePath;
}

function PartsTable({ check }: { check: WebConfigCheck }) {
  const s = useSiteStyles();
  const d = useStyles();
  return (
    <table className={s.table} aria-label="Feature toggle parts">
      <thead>
        <tr>
          <th className={s.th} scope="col">
            Status
          </th>
          <th className={s.th} scope="col">
            Part of the toggle
          </th>
        </tr>
      </thead>
      <tbody>
        {check.parts.map((part) => (
          <tr key={part.id} data-part={part.id} data-state={part.state}>
            <td className={mergeClasses(s.td, s.statusCell)}>
              <StatusBadge kind={PART_STATUS[part.state].kind} label={PART_STATUS[part.state].label} />
            </td>
            <td className={s.td}>
              <span className={d.partLabel}>{part.label}</span>
              <Caption1 className={s.muted}>{part.detail}</Caption1>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function WebConfigCard({ ref, onTablePrefix }: { ref?: Ref<HTMLElement>; onTablePrefix?: (prefix: string | undefined) => void }) {
  const s = useSiteStyles();
  const d = useStyles();
  const [mode, setMode] = useState<'file' | 'text'>('file');
  const [filePath, setFilePath] = useState(() => localStorage.getItem(PATH_KEY) ?? '');
  const [pasted, setPasted] = useState('');
  const [plan, setPlan] = useState<WebConfigEditPlan>();
  const [saved, setSaved] = useState<WebConfigApplyResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<'check' | 'save'>();
  const [confirming, setConfirming] = useState(false);

  const check = saved?.after ?? plan?.check;
  const canCheck = mode === 'file' ? filePath.trim() !== '' : pasted.trim() !== '';

  const runCheck = async () => {
    setBusy('check');
    setError(undefined);
    setSaved(undefined);
    try {
      const source = mode === 'file' ? { path: filePath.trim() } : { text: pasted };
      if (mode === 'file') localStorage.setItem(PATH_KEY, filePath.trim());
      const result = await api.siteSetup.previewWebConfig(source);
      setPlan(result);
      onTablePrefix?.(result.check.tablePrefix);
    } catch (e) {
      setPlan(undefined);
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const save = async () => {
    if (!plan?.check.path) return;
    setBusy('save');
    setError(undefined);
    try {
      const result = await api.siteSetup.applyWebConfig({ path: plan.check.path, expectedSha256: plan.check.sha256 });
      setSaved(result);
      setConfirming(false);
    } catch (e) {
      setConfirming(false);
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const download = (text: string) => {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/xml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'web.config';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section ref={ref} className={s.card} aria-labelledby="site-webconfig-title">
      <div className={s.cardHead}>
        <Subtitle2 as="h2" id="site-webconfig-title">
          web.config feature toggle (NewAuthentication)
        </Subtitle2>
        <span className={s.spacer} />
        {check && (check.complete ? <StatusBadge kind="success" label="Toggle is on" /> : <StatusBadge kind="warning" label="Toggle incomplete" />)}
      </div>
      <Body1>
        {OAUTH_TOGGLE_VERSIONS} needs this toggle for OAuth 2.0 with Microsoft 365; from {SITE_VERSIONS.oauthGeneral.display} it is not needed. Mailroom adds only what is missing
        and keeps every other line as it is.
      </Body1>
      <TabList
        size="small"
        selectedValue={mode}
        onTabSelect={(_e, data) => {
          setMode(data.value as 'file' | 'text');
          setPlan(undefined);
          setSaved(undefined);
          setError(undefined);
        }}
      >
        <Tab value="file">File on this computer</Tab>
        <Tab value="text">Pasted text</Tab>
      </TabList>
      <form
        className={s.row}
        onSubmit={(e) => {
          e.preventDefault();
          if (canCheck && !busy) void runCheck();
        }}
      >
        {mode === 'file' ? (
          <Field label="Path of web.config" className={s.grow}>
            <Input
              value={filePath}
              onChange={(_e, v) => setFilePath(v.value)}
              placeholder="C:\Program Files\SuperOffice\SuperOffice Web\web.config"
              className={s.mono}
              spellCheck={false}
            />
          </Field>
        ) : (
          <Field label="web.config text" className={s.grow}>
            <Textarea value={pasted} onChange={(_e, v) => setPasted(v.value)} rows={8} resize="vertical" textarea={{ className: d.textarea, spellCheck: false }} />
          </Field>
        )}
        <ChangeButton channel="siteSetup.checkWebConfig" type="submit" appearance="primary" icon={busy === 'check' ? <Spinner size="tiny" /> : <DocumentSearchRegular />} disabled={!canCheck || Boolean(busy)}>
          Check
        </ChangeButton>
      </form>

      <Caption1 className={s.muted}>
        {mode === 'file'
          ? 'The web.config in the folder IIS serves SuperOffice from, as seen from the computer Mailroom runs on.'
          : 'Checked here only; nothing is saved. Copy or download the corrected text.'}
      </Caption1>

      <ErrorBar error={error} />

      {saved && (
        <MessageBar intent="success" layout="multiline" role="status">
          <MessageBarBody>
            <MessageBarTitle>Saved {saved.path}</MessageBarTitle>
            <div className={d.breakAll}>
              Backup: {saved.backupPath} {saved.backupPath && <CopyButton text={saved.backupPath} label="Copy the backup path" />}
            </div>
            <div>ASP.NET restarts the site after a web.config change: users may need to sign in again.</div>
          </MessageBarBody>
        </MessageBar>
      )}

      {check && (
        <>
          <Caption1 className={s.muted}>
            {check.path ? <span className={d.breakAll}>{check.path} · </span> : null}
            {check.format.encoding.toUpperCase()}
            {check.format.bom ? ' with BOM' : ''} · {check.format.lineEnding.toUpperCase()} · indented with {check.format.indent.kind === 'tabs' ? 'tabs' : `${check.format.indent.width} spaces`}
            {check.tablePrefix ? ` · table prefix ${check.tablePrefix}` : ''}
          </Caption1>
          <PartsTable check={check} />
          {check.notes.map((note) => (
            <MessageBar key={note} intent="warning" layout="multiline">
              <MessageBarBody>{note}</MessageBarBody>
            </MessageBar>
          ))}
        </>
      )}

      {plan && !saved && !plan.changed && <Body1>Nothing to change: the file already turns NewAuthentication on.</Body1>}

      {plan && plan.changed && (
        <>
          <div className={s.cardHead}>
            <Text weight="semibold">{saved ? 'Saved changes' : 'Changes Mailroom will make'}</Text>
            <Caption1 className={s.muted}>
              {plan.lineCountBefore} → {plan.lineCountAfter} lines; values of passwords and keys are masked here
            </Caption1>
            <span className={s.spacer} />
            <CopyButton text={plan.diff} label="Copy the diff" />
          </div>
          <ul className={s.list}>
            {plan.changes.map((c) => (
              <li key={`${c.part}-${c.line}`}>
                <Body1>{c.description}</Body1>
              </li>
            ))}
          </ul>
          <DiffView hunks={plan.hunks} label="Diff of web.config" />
          {!saved && (
            <div className={d.actions}>
              {plan.check.source === 'file' ? (
                <ChangeButton channel="siteSetup.applyWebConfig" appearance="primary" icon={<SaveRegular />} onClick={() => setConfirming(true)} disabled={Boolean(busy)}>
                  Save changes…
                </ChangeButton>
              ) : (
                <>
                  <CopyButton text={plan.updatedText ?? ''} label="Copy the corrected text" size="medium">
                    Copy corrected text
                  </CopyButton>
                  <Button icon={<ArrowDownloadRegular />} onClick={() => download(plan.updatedText ?? '')}>
                    Download web.config
                  </Button>
                </>
              )}
            </div>
          )}
        </>
      )}

      <Dialog open={confirming} onOpenChange={(_e, data) => !busy && setConfirming(data.open)}>
        <DialogSurface aria-describedby="site-save-description">
          <DialogBody>
            <DialogTitle>Save web.config?</DialogTitle>
            <DialogContent id="site-save-description">
              {plan?.check.path && (
                <>
                  <Body1 block>
                    Mailroom first copies the current file to a backup in <span className={d.breakAll}>{folderOf(plan.check.path)}</span>, named{' '}
                    <Text weight="semibold" className={d.breakAll}>
                      {webConfigBackupName(fileNameOf(plan.check.path))}
                    </Text>{' '}
                    with the date and time of the save, then saves the {plan.changes.length} change{plan.changes.length === 1 ? '' : 's'} shown. Nothing else in the file
                    changes. The exact name of the backup is shown once it is written.
                  </Body1>
                  <Body1 block style={{ marginTop: 8 }}>
                    ASP.NET restarts the site when web.config changes, so users may have to sign in again: prefer a quiet moment. To undo, copy the backup over web.config.
                  </Body1>
                </>
              )}
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setConfirming(false)} disabled={busy === 'save'}>
                Cancel
              </Button>
              <Button appearance="primary" icon={busy === 'save' ? <Spinner size="tiny" /> : <SaveRegular />} onClick={() => void save()} disabled={busy === 'save'}>
                Back up and save
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </section>
  );
}
