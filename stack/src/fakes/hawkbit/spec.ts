import { Contract, ContractViolation, type MatchedOperation, type Relaxation } from '../contract.ts';

export const HAWKBIT_MGMT_SPEC = 'hawkbit-mgmt-v1-2025-03-13.json';
export const HAWKBIT_DDI_SPEC = 'hawkbit-ddi-v1-2025-03-13.json';

/** Tenant configuration values are any JSON value (Java Object); the generator typed them "object". */
const anyValue = { description: 'boolean, number or string configuration value' };
export const HAWKBIT_RELAXATIONS: Relaxation[] = [
  {
    schema: 'MgmtSystemTenantConfigurationValueRequest',
    replace: { type: 'object', required: ['value'], properties: { value: anyValue } },
    why: 'configuration values are booleans, numbers or strings',
  },
  {
    schema: 'MgmtSystemTenantConfigurationValue',
    replace: {
      type: 'object',
      properties: {
        value: anyValue,
        global: { type: 'boolean' },
        lastModifiedAt: { type: 'integer' },
        lastModifiedBy: { type: 'string' },
        createdAt: { type: 'integer' },
        createdBy: { type: 'string' },
      },
    },
    why: 'same as the request',
  },
  { operation: 'PUT /rest/v1/system/configs/{keyName}', status: 204, why: 'hawkBit 1.0.4 answers 204 without a body (the parity test sees it); the spec documents only 200' },
];

export const HAWKBIT_DDI_RELAXATIONS: Relaxation[] = [
  {
    schema: 'DdiPolling',
    replace: { type: 'object', properties: { sleep: { type: 'string', pattern: '^\\d{2}:\\d{2}:\\d{2}$' } } },
    why: 'the generator copied the format description "HH:MM:SS" into "pattern", a regex no real sleep value ("00:05:00") matches',
  },
];

const isDdi = (template: string) => template.startsWith('/{tenant}/controller/');

/**
 * hawkBit serves the Management API and the DDI API from one server, but publishes them as two
 * specs; this contract answers for both, each request and response checked against its own spec.
 * The path spaces do not overlap (/rest/v1/... vs /{tenant}/controller/v1/...).
 */
export class HawkbitContract extends Contract {
  readonly ddi: Contract;

  constructor() {
    super(HAWKBIT_MGMT_SPEC, '', HAWKBIT_RELAXATIONS);
    this.ddi = new Contract(HAWKBIT_DDI_SPEC, '', HAWKBIT_DDI_RELAXATIONS);
  }

  override hasOperation(method: string, template: string): boolean {
    return isDdi(template) ? this.ddi.hasOperation(method, template) : super.hasOperation(method, template);
  }

  override match(method: string, urlPath: string): MatchedOperation {
    const tries = [() => this.ddi.match(method, urlPath), () => super.match(method, urlPath)];
    let best: ContractViolation | undefined;
    for (const t of tries) {
      try {
        return t();
      } catch (e) {
        if (!(e instanceof ContractViolation)) throw e;
        // A known path with another method (405) says more than an unknown path (404).
        if (!best || e.status === 405) best = e;
      }
    }
    throw best!;
  }

  override validateRequest(mo: MatchedOperation, req: Parameters<Contract['validateRequest']>[1]): void {
    if (isDdi(mo.template)) this.ddi.validateRequest(mo, req);
    else super.validateRequest(mo, req);
  }

  override validateResponse(mo: MatchedOperation, status: number, body: unknown): string[] {
    return isDdi(mo.template) ? this.ddi.validateResponse(mo, status, body) : super.validateResponse(mo, status, body);
  }
}
