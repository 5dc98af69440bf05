import { tenancyMigrations } from './tenancy-migrations.factory';
import {
  currentRoleExpression,
  currentTenantExpression,
  currentTenantWhenExpression,
  settingExpression,
} from './setting-expression';

describe('setting expressions: the sub-select form and the plain form (Citus)', () => {
  it('wraps the setting in a sub-select by default, evaluated once per statement', () => {
    expect(currentTenantExpression()).toBe(
      "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)",
    );
    expect(currentTenantWhenExpression("x = 'y'")).toBe(
      "(SELECT CASE WHEN x = 'y' THEN NULLIF(current_setting('app.tenant_id', true), '')::uuid END)",
    );
  });

  it("leaves the sub-select out with 'plain', keeping NULLIF and the cast", () => {
    expect(currentTenantExpression('app.tenant_id', 'plain')).toBe(
      "(NULLIF(current_setting('app.tenant_id', true), '')::uuid)",
    );
    expect(currentRoleExpression('app.role', 'plain')).toBe(
      "(NULLIF(current_setting('app.role', true), '')::text)",
    );
    expect(currentTenantWhenExpression("x = 'y'", 'app.tenant_id', 'plain')).toBe(
      "(CASE WHEN x = 'y' THEN NULLIF(current_setting('app.tenant_id', true), '')::uuid END)",
    );
  });

  it('refuses a setting name that could break out of its literal, in either form', () => {
    expect(() => settingExpression("app.x', true) OR (true", 'text', 'plain')).toThrow(
      /is not a valid setting name/,
    );
  });

  it('binds the form in tenancyMigrations({ settingForm }) and refuses an unknown one', () => {
    const plain = tenancyMigrations({ settingForm: 'plain' });
    expect(plain.options.settingForm).toBe('plain');
    expect(plain.currentTenantExpression()).toBe(
      "(NULLIF(current_setting('app.tenant_id', true), '')::uuid)",
    );
    expect(tenancyMigrations().options.settingForm).toBe('sub-select');
    expect(() => tenancyMigrations({ settingForm: 'bare' as 'plain' })).toThrow(
      `settingForm must be 'sub-select' or 'plain', got "bare"`,
    );
  });
});
