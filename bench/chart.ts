// The SVG chart of `npm run bench`: req/s per variant, Express and Fastify side by side.
import type { HttpRow } from './rounds.js';
import { PLATFORMS, type Platform } from './variants.js';

const PLATFORM_COLOURS: Record<Platform, string> = { express: '#4a6fa5', fastify: '#d9822b' };
const platformName = (platform: Platform): string =>
  platform === 'express' ? 'Express' : 'Fastify';

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A grouped horizontal bar chart of req/s per variant, as SVG text. */
export function requestRateChart(rows: readonly HttpRow[], caption: string): string {
  const labelWidth = 430;
  const plotWidth = 420;
  const barHeight = 11;
  const groupHeight = barHeight * PLATFORMS.length + 10;
  const top = 44;
  const height = top + rows.length * groupHeight + 40;
  const max = Math.max(
    ...rows.flatMap((row) => PLATFORMS.map((platform) => row.medians[platform].requestsPerSec)),
    1,
  );
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">req/s per variant (median of interleaved rounds; longer is faster)</text>`,
  ];
  PLATFORMS.forEach((platform, i) => {
    const x = labelWidth + i * 110;
    parts.push(
      `<rect x="${x}" y="28" width="10" height="10" fill="${PLATFORM_COLOURS[platform]}"/>`,
      `<text x="${x + 14}" y="37">${platformName(platform)}</text>`,
    );
  });
  rows.forEach((row, r) => {
    const y = top + r * groupHeight;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight + 4}" text-anchor="end">${escape(row.variant.label)}</text>`,
    );
    PLATFORMS.forEach((platform, i) => {
      const value = row.medians[platform].requestsPerSec;
      const width = Math.max(1, Math.round((value / max) * plotWidth));
      const barY = y + i * barHeight;
      parts.push(
        `<rect x="${labelWidth}" y="${barY}" width="${width}" height="${barHeight - 1}" fill="${PLATFORM_COLOURS[platform]}"/>`,
        `<text x="${labelWidth + width + 4}" y="${barY + barHeight - 2}">${Math.round(value).toLocaleString('en')}</text>`,
      );
    });
  });
  parts.push(`<text x="10" y="${height - 12}" fill="#555">${escape(caption)}</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
