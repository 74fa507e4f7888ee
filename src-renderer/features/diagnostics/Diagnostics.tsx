/**
 * Diagnostics in the app shell: a header menu to export a bundle or open one,
 * and a banner on every screen while a bundle is open (read-only).
 */
import {
  Button,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  Dialog,
  DialogSurface,
  DialogBody,
  DialogTitle,
  DialogContent,
  DialogActions,
  Spinner,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { BoxSearchRegular, ArrowDownloadRegular, FolderOpenRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import type { BundleResult } from '../../../src-main/shared/diagnostics.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { formatTime } from '../../components/format';

const useStyles = makeStyles({
  headerButton: { color: tokens.colorNeutralForegroundOnBrand },
  banner: { position: 'sticky', top: 0, zIndex: 5 },
});

export function useViewState() {
  return useQuery({ queryKey: ['diagnostics.viewState'], queryFn: () => api.diagnostics.viewState({}) });
}

function toBase64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function DiagnosticsMenu() {
  const s = useStyles();
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string>();
  const [result, setResult] = useState<BundleResult>();
  const [error, setError] = useState<unknown>();

  const exportBundle = async () => {
    setError(undefined);
    setResult(undefined);
    setBusy('Collecting diagnostics…');
    try {
      setResult(await api.diagnostics.export({}));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const importBundle = async (file: File) => {
    setError(undefined);
    setResult(undefined);
    setBusy(`Opening ${file.name}…`);
    try {
      await api.diagnostics.importBundle({ fileName: file.name, dataBase64: toBase64(await file.arrayBuffer()) });
      await queryClient.invalidateQueries();
      setBusy(undefined);
    } catch (e) {
      setError(e);
      setBusy(undefined);
    }
  };

  return (
    <>
      <Menu>
        <MenuTrigger disableButtonEnhancement>
          <Button appearance="transparent" className={s.headerButton} icon={<BoxSearchRegular />}>
            Diagnostics
          </Button>
        </MenuTrigger>
        <MenuPopover>
          <MenuList>
            <MenuItem icon={<ArrowDownloadRegular />} onClick={() => void exportBundle()}>
              Export diagnostics…
            </MenuItem>
            <MenuItem icon={<FolderOpenRegular />} onClick={() => input.current?.click()}>
              Open a diagnostics bundle…
            </MenuItem>
          </MenuList>
        </MenuPopover>
      </Menu>
      <input
        ref={input}
        type="file"
        accept=".zip,application/zip"
        hidden
        aria-label="Diagnostics bundle to open"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void importBundle(file);
        }}
      />
      <Dialog open={Boolean(busy || result || error)} onOpenChange={(_e, d) => !d.open && (setResult(undefined), setError(undefined))}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Diagnostics</DialogTitle>
            <DialogContent>
              {busy && <Spinner label={busy} />}
              {result && (
                <div>
                  <p>
                    The bundle is ready: <strong>{result.fileName}</strong> ({Math.ceil(result.bytes / 1024)} KB, {result.manifest.logEntries} log entries,{' '}
                    {result.manifest.sections.length} sections). It holds versions, mailbox settings, recent tests, queue and import states and the log, and no passwords or
                    tokens.
                  </p>
                  <p>Saved to {result.path}</p>
                  {api.transport.kind === 'console' && (
                    <a href={`/downloads/${encodeURIComponent(result.fileName)}`} download={result.fileName}>
                      Download {result.fileName}
                    </a>
                  )}
                </div>
              )}
              <ErrorBar error={error} />
            </DialogContent>
            <DialogActions>
              <Button onClick={() => (setResult(undefined), setError(undefined))} disabled={Boolean(busy)}>
                Close
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </>
  );
}

/** Shown on every screen while a bundle is open. */
export function BundleBanner() {
  const s = useStyles();
  const queryClient = useQueryClient();
  const view = useViewState();
  if (view.data?.mode !== 'bundle' || !view.data.bundle) return null;
  const b = view.data.bundle;
  return (
    <div className={s.banner}>
      <MessageBar intent="warning" layout="multiline" aria-live="polite">
        <MessageBarBody>
          <MessageBarTitle>Viewing diagnostics bundle {b.fileName} (read-only).</MessageBarTitle>
          Made {formatTime(b.createdAt)} by Mailroom {b.appVersion} on {b.platform}. Your own mailboxes are not shown and nothing can be changed.
        </MessageBarBody>
        <MessageBarActions>
          <Button
            appearance="primary"
            size="small"
            onClick={async () => {
              await api.diagnostics.closeBundle({});
              await queryClient.invalidateQueries();
            }}
          >
            Close bundle
          </Button>
        </MessageBarActions>
      </MessageBar>
    </div>
  );
}
