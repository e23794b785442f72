// What the `omni webhook` verbs share: finding the interaction, a spinner around Twitter calls, the webhook JSON.
import type { Context } from '../../cli/context.js';
import { findInteraction, type InteractionView } from '../../db/interactions.js';
import { startSpinner } from '../../cli/spinner.js';
import type { Webhook } from '../../twitter/gateway.js';
import { type Progress } from '../../webhooks/service.js';

export interface JsonOpt {
  json?: boolean;
}

export async function load(ctx: Context, ref: string): Promise<InteractionView> {
  return findInteraction((await ctx.db()).kysely, ref);
}

/** Runs `work` with a spinner on a TTY; the spinner is gone before anything else is printed. */
export async function withSpinner<T>(ctx: Context, first: string, work: (step: Progress) => Promise<T>): Promise<T> {
  const spinner = startSpinner(ctx.io.stderr, first);
  try {
    return await work((text) => spinner.update(text));
  } finally {
    spinner.stop();
  }
}

export function webhookJson(w: Webhook) {
  return { id: w.id, url: w.url, valid: w.valid, createdAt: w.createdAt };
}
