import { z } from 'zod';

/**
 * Validates environment variables once at start-up against a schema and fails with every problem
 * listed at once, naming the variable. Secret values are never echoed back.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** A required secret; its description starts with "secret:" so docs and dumps can tell. */
export const secret = (doc: string) => z.string().min(1).describe(`secret: ${doc}`);
