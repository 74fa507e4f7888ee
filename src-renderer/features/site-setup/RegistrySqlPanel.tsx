/** The cURL mail registry switch (reg_id 320): SQL Server statements to copy, with what to know first. */
import { Body1, Button, Caption1, Field, Input, MessageBar, MessageBarBody, Radio, RadioGroup, Subtitle2, Text } from '@fluentui/react-components';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type Ref } from 'react';
import { DEFAULT_REGISTRY_TABLE } from '../../../src-main/shared/site-setup.js';
import { SITE_VERSIONS } from '../../../src-main/shared/site-versions.js';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { useSiteStyles } from './site-styles';

export function RegistrySqlCard({ ref, suggestedSchema }: { ref?: Ref<HTMLElement>; suggestedSchema?: string | undefined }) {
  const s = useSiteStyles();
  const [useCurl, setUseCurl] = useState(true);
  const [table, setTable] = useState(DEFAULT_REGISTRY_TABLE);
  const sql = useQuery({
    queryKey: ['siteSetup.registrySql', useCurl, table],
    queryFn: () => api.siteSetup.registrySql({ useCurl, table }),
    placeholderData: keepPreviousData,
  });
  const suggestedTable = suggestedSchema ? `${suggestedSchema}.registry` : undefined;

  return (
    <section ref={ref} className={s.card} aria-labelledby="site-registry-title">
      <div className={s.cardHead}>
        <Subtitle2 as="h2" id="site-registry-title">
          cURL mail registry switch (reg_id 320)
        </Subtitle2>
        <span className={s.spacer} />
        {sql.data && (
          <CopyButton text={sql.data.script} label="Copy the whole script">
            Copy script
          </CopyButton>
        )}
      </div>
      <Body1>
        Needed only from {SITE_VERSIONS.curlAvailable.display} until {SITE_VERSIONS.curlDefault.display}; from {SITE_VERSIONS.curlDefault.display} cURL mail is on by default. Value{' '}
        <Text font="monospace">'0'</Text> uses cURL mail, <Text font="monospace">'2'</Text> does not.
      </Body1>
      <div className={s.row}>
        <Field label="Set the value to">
          <RadioGroup layout="horizontal" value={useCurl ? 'curl' : 'legacy'} onChange={(_e, d) => setUseCurl(d.value === 'curl')}>
            <Radio value="curl" label="'0': use cURL mail" />
            <Radio value="legacy" label="'2': do not use cURL" />
          </RadioGroup>
        </Field>
        <Field label="Table (schema.table)" className={s.grow} validationState={sql.error ? 'error' : 'none'}>
          <Input value={table} onChange={(_e, d) => setTable(d.value)} className={s.mono} spellCheck={false} />
        </Field>
        {suggestedTable && suggestedTable.toLowerCase() !== table.trim().toLowerCase() && (
          <Button size="small" onClick={() => setTable(suggestedTable)}>
            Use {suggestedTable} from web.config
          </Button>
        )}
      </div>
      <ErrorBar error={sql.error} />
      {sql.data?.statements.map((statement) => (
        <div key={statement.id} data-statement={statement.id}>
          <div className={s.cardHead}>
            <Text weight="semibold">{statement.title}</Text>
            <span className={s.spacer} />
            <CopyButton text={statement.sql} label={`Copy: ${statement.title}`} />
          </div>
          <Caption1 className={s.muted} block>
            {statement.explanation}
          </Caption1>
          <pre className={s.code} aria-label={statement.title} tabIndex={0}>
            {statement.sql}
          </pre>
        </div>
      ))}
      {sql.data && (
        <MessageBar intent="info" layout="multiline">
          <MessageBarBody>
            <ul className={s.list}>
              {sql.data.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          </MessageBarBody>
        </MessageBar>
      )}
    </section>
  );
}
