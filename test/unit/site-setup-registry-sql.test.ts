/** The registry switch SQL: reads and sets reg_id 320, never inserts, and refuses odd table names. */
import { describe, expect, it } from 'vitest';
import { registrySql } from '../../src-main/engine/site-setup/index';

describe('registry SQL', () => {
  it("sets '0' for cURL mail by default, in the crm7 schema, guarded by a transaction", () => {
    const sql = registrySql();
    expect(sql).toMatchObject({ regId: 320, table: 'crm7.registry', useCurl: true, value: '0', dialect: 'sqlserver' });
    const read = sql.statements.find((s) => s.id === 'read')!.sql;
    const set = sql.statements.find((s) => s.id === 'set')!.sql;
    expect(read).toMatch(/SELECT id, reg_id, \[name\], \[value\],[\s\S]*FROM crm7\.registry\s+WHERE reg_id = 320;/);
    expect(set).toMatch(/UPDATE crm7\.registry\s+SET \[value\] = '0'\s+WHERE reg_id = 320;/);
    expect(set).toMatch(/IF @@ROWCOUNT = 1\s+COMMIT TRANSACTION;\s+ELSE\s+BEGIN\s+ROLLBACK TRANSACTION;/);
    expect(sql.script).toContain(set);
  });

  it("sets '2' (as text) when cURL mail is switched off", () => {
    const sql = registrySql({ useCurl: false });
    expect(sql.value).toBe('2');
    expect(sql.statements.find((s) => s.id === 'set')!.sql).toContain("SET [value] = '2'");
  });

  it('never offers an INSERT and says why', () => {
    const sql = registrySql();
    expect(sql.script).not.toMatch(/\bINSERT\b/i);
    expect(sql.notes.join(' ')).toMatch(/no INSERT on purpose/);
    expect(sql.notes.join(' ')).toMatch(/Mail setup dialog in Service has been saved once/);
    expect(sql.notes.join(' ')).toMatch(/does not connect to the help-desk database/);
  });

  it.each(['registry', 'dbo.registry', '[crm7].[registry]', 'SuperOffice.crm7.registry', ' crm5.registry '])('accepts the table %s', (table) => {
    expect(registrySql({ table }).table).toBe(table.trim());
  });

  it.each(["crm7.registry; DROP TABLE x", 'a.b.c.d', 'crm7..registry', "reg'istry", ''])('refuses the table %j with what to type', (table) => {
    expect(() => registrySql({ table })).toThrowError(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/table/) }));
  });
});
