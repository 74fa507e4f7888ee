/**
 * The cURL mail registry switch: SQL Server statements that read and set
 * `reg_id = 320` in the help-desk system's `registry` table, with what the
 * admin must know first. Mailroom never connects to that database; it only
 * writes the statements for the admin to run.
 *
 * Columns (`id`, `reg_id`, `name`, `value` String(255), nullable) are those
 * of SuperOffice's database reference for the `registry` table (table 253).
 */
import { parseOrThrow } from '../../shared/validation.js';
import { AppError } from '../../shared/errors.js';
import { RegistrySqlInput, SQL_TABLE_NAME_PATTERN, type RegistrySql, type SqlStatement } from '../../shared/site-setup.js';

/** The registry id of the mail library switch. */
export const MAIL_REGISTRY_ID = 320;

/**
 * Generates the read and set statements for the mail switch. `useCurl`
 * true writes '0' (cURL mail), false writes '2'. There is deliberately no
 * INSERT: the row is created by the Mail setup dialog in Service.
 */
export function registrySql(input: RegistrySqlInput = {}): RegistrySql {
  const parsed = parseOrThrow(RegistrySqlInput, input, 'registry SQL options');
  const useCurl = parsed.useCurl;
  const table = parsed.table.trim();
  if (!SQL_TABLE_NAME_PATTERN.test(table)) {
    throw new AppError('VALIDATION_FAILED', `"${table.slice(0, 60)}" is not a table name Mailroom can put in the SQL.`, {
      hint: 'Give the registry table with its schema, e.g. crm7.registry or [crm7].[registry]: letters, digits and _, parts separated by dots.',
      // The field, so that each surface can name its own control for it (the CLI: --table).
      issues: [{ path: 'table', message: `is not a table name Mailroom can put in the SQL ("${table.slice(0, 60)}")` }],
    });
  }
  const value = useCurl ? '0' : '2';
  const meaning = useCurl ? 'cURL mail' : 'the previous mail library (not cURL)';

  const read: SqlStatement = {
    id: 'read',
    title: 'Read the current value',
    sql: [
      `-- Mail library switch: '0' = cURL mail, '2' = not cURL. No row: Mail setup in Service was never saved.`,
      `SELECT id, reg_id, [name], [value],`,
      `       CASE [value] WHEN '0' THEN 'cURL mail' WHEN '2' THEN 'not cURL' ELSE 'unexpected value' END AS meaning`,
      `FROM ${table}`,
      `WHERE reg_id = ${MAIL_REGISTRY_ID};`,
    ].join('\n'),
    explanation: `Shows the row of reg_id ${MAIL_REGISTRY_ID} and what its value means. Changes nothing. Run it before and after the change.`,
  };

  const set: SqlStatement = {
    id: 'set',
    title: `Set the value to '${value}' (${meaning})`,
    sql: [
      `-- Changes only the existing row; rolls back unless exactly one row was changed.`,
      `BEGIN TRANSACTION;`,
      `UPDATE ${table}`,
      `SET [value] = '${value}'`,
      `WHERE reg_id = ${MAIL_REGISTRY_ID};`,
      `IF @@ROWCOUNT = 1`,
      `    COMMIT TRANSACTION;`,
      `ELSE`,
      `BEGIN`,
      `    ROLLBACK TRANSACTION;`,
      `    RAISERROR('reg_id ${MAIL_REGISTRY_ID} was not changed: the row is missing (save Mail setup in Service once) or there is more than one.', 16, 1);`,
      `END;`,
    ].join('\n'),
    explanation:
      `Writes '${value}' to the existing row of reg_id ${MAIL_REGISTRY_ID}, inside a transaction that is rolled back unless exactly one row changed. ` +
      `The value is text: write it in quotes ('${value}').`,
  };

  const notes = [
    'Mailroom does not connect to the help-desk database: run these statements yourself, for example in SQL Server Management Studio, against the SuperOffice database, as a user allowed to change it. Back up the database first.',
    'The row exists only after the Mail setup dialog in Service has been saved once. If the read returns no row, open Mail setup in Service, save it, and read again.',
    'There is no INSERT on purpose: the Mail setup dialog creates the row with the name and id the system expects; a row made by hand could conflict with it.',
    `Table: ${table}. Installations commonly use the crm7 schema; the schema is the TablePrefix under <Data><Database> in the SuperOffice web.config. Change the table if yours differs.`,
    'Columns id, reg_id, name and value are those of the registry table in SuperOffice\'s database reference.',
    'Alternatively the value can be changed with eJScript in Service (Developer Tools).',
  ];

  const script = [read.sql, '', set.sql, '', '-- Verify:', read.sql.split('\n').slice(1).join('\n')].join('\n') + '\n';
  return { regId: MAIL_REGISTRY_ID, table, useCurl, value, dialect: 'sqlserver', statements: [read, set], script, notes };
}
