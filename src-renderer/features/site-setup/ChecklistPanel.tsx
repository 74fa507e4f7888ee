/** The version picker and the version-aware checklist of the Site setup screen. */
import { Body1, Button, Caption1, Field, Input, Select, Spinner, Subtitle2, Text } from '@fluentui/react-components';
import { ArrowRightRegular } from '@fluentui/react-icons';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { ChecklistItem } from '../../../src-main/shared/site-setup.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { useSiteStyles } from './site-styles';

const STATUS: Record<ChecklistItem['status'], { kind: StatusKind; label: string }> = {
  action: { kind: 'warning', label: 'Action needed' },
  applies: { kind: 'info', label: 'Applies' },
  'not-needed': { kind: 'disabled', label: 'Not needed' },
};

const ACTION_LABEL: Record<NonNullable<ChecklistItem['action']>, string> = {
  'registry-sql': 'Registry SQL',
  'web-config': 'Check web.config',
};

/** Picks the installed version from the ranges, or takes it typed ("10.1.4", "G9 9.2 R10"). */
export function VersionCard({ version, onChange }: { version: string; onChange: (version: string) => void }) {
  const s = useSiteStyles();
  const versions = useQuery({ queryKey: ['siteSetup.versions'], queryFn: () => api.siteSetup.versions({}), staleTime: Infinity });
  const isRange = versions.data?.some((v) => v.range === version) ?? false;
  const [typed, setTyped] = useState(isRange ? '' : version);
  useEffect(() => {
    if (isRange) setTyped('');
  }, [isRange]);

  return (
    <section className={s.card} aria-labelledby="site-version-title">
      <Subtitle2 as="h2" id="site-version-title">
        Installed version
      </Subtitle2>
      <form
        className={s.row}
        onSubmit={(e) => {
          e.preventDefault();
          onChange(typed.trim());
        }}
      >
        <Field label="Version range" className={s.grow}>
          <Select value={isRange ? version : ''} onChange={(_e, d) => onChange(d.value)} aria-describedby="site-version-help" style={{ width: '100%', minWidth: 0 }}>
            <option value="">Choose the installed version…</option>
            {versions.data?.map((v) => (
              <option key={v.range} value={v.range}>
                {v.label}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Or type it" style={{ flex: '0 1 140px', minWidth: 0 }}>
          <Input value={typed} onChange={(_e, d) => setTyped(d.value)} placeholder="e.g. 10.1.4" style={{ width: '100%', minWidth: 0 }} />
        </Field>
        <Button type="submit" disabled={!typed.trim()}>
          Show
        </Button>
      </form>
      <Caption1 id="site-version-help" className={s.muted}>
        See Help &gt; About in SuperOffice. Typed versions such as 10.1.4, G9 9.2 R10 or 8.0 SR2 are matched to their range.
      </Caption1>
      <ErrorBar error={versions.error} />
    </section>
  );
}

/** The checklist of what applies to mail for the chosen version. */
export function ChecklistCard({ version, onAction }: { version: string; onAction: (target: NonNullable<ChecklistItem['action']>) => void }) {
  const s = useSiteStyles();
  const checklist = useQuery({ queryKey: ['siteSetup.checklist', version], queryFn: () => api.siteSetup.checklist({ version }), enabled: version !== '' });
  const counts = checklist.data?.items.reduce((acc, i) => ({ ...acc, [i.status]: (acc[i.status] ?? 0) + 1 }), {} as Record<string, number>);

  return (
    <section className={s.card} aria-labelledby="site-checklist-title">
      <div className={s.cardHead}>
        <Subtitle2 as="h2" id="site-checklist-title">
          Checklist
        </Subtitle2>
        {checklist.data && (
          <Caption1 className={s.muted}>
            for {checklist.data.version.display} ({checklist.data.rangeLabel}) · {counts?.action ?? 0} action{counts?.action === 1 ? '' : 's'} needed
          </Caption1>
        )}
      </div>
      {version === '' && <Body1 className={s.muted}>Choose or type the installed version to see what applies to its mail.</Body1>}
      {checklist.isFetching && !checklist.data && <Spinner size="tiny" label="Loading the checklist…" />}
      <ErrorBar error={checklist.error} />
      {checklist.data && (
        <table className={s.table} aria-label="Site checklist">
          <thead>
            <tr>
              <th className={s.th} scope="col">
                Status
              </th>
              <th className={s.th} scope="col">
                What applies
              </th>
            </tr>
          </thead>
          <tbody>
            {checklist.data.items.map((item) => (
              <tr key={item.id} data-item={item.id} data-status={item.status}>
                <td className={`${s.td} ${s.statusCell}`}>
                  <StatusBadge kind={STATUS[item.status].kind} label={STATUS[item.status].label} />
                </td>
                <td className={s.td}>
                  <div className={s.itemBody}>
                    <span className={s.itemTitle}>
                      {item.title}: {item.summary}
                    </span>
                    <span className={s.small}>{item.explanation}</span>
                    {item.hint && (
                      <span className={s.small}>
                        <Text weight="semibold" size={200}>
                          What to do:{' '}
                        </Text>
                        {item.hint}
                      </span>
                    )}
                    {item.action && (
                      <Button size="small" appearance="transparent" icon={<ArrowRightRegular />} iconPosition="after" onClick={() => onAction(item.action!)}>
                        {ACTION_LABEL[item.action]}
                      </Button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
