/** JSON schema pieces several routes share. */

export const HOST_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$';

export const hostIdSchema = { type: 'string', pattern: HOST_ID_PATTERN } as const;

export const serviceNameSchema = { type: 'string', minLength: 1, maxLength: 255 } as const;

/** Labels as a JSON object of strings: {"role": "web"}. */
export const labelsSchema = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 255 },
  maxProperties: 32,
} as const;

/** Which hosts: a list, labels, or both (AND). Neither: every host managing the service. */
export const selectorProperties = {
  hosts: { type: 'array', items: hostIdSchema, minItems: 1, maxItems: 10_000, description: 'host ids, in the order to use' },
  labels: { ...labelsSchema, description: 'labels every selected host must carry' },
} as const;

/** A count >= `min` or a percentage "1%".."100%". */
export function countOrPercent(min: number, description: string) {
  return {
    description,
    anyOf: [
      { type: 'integer', minimum: min, maximum: 100_000 },
      { type: 'string', pattern: '^(100|[1-9][0-9]?)%$' },
    ],
  } as const;
}

export const limitQuery = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
