import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: true,
    root: './',
    include: ['test/**/*.e2e-spec.ts'],
  },
  plugins: [
    // Nest's dependency injection reads the decorator metadata tsc emits (emitDecoratorMetadata).
    // Vite up to 7 transpiles with esbuild, which emits none; SWC does, reading this tsconfig.
    swc.vite({ module: { type: 'es6' } }),
  ],
});
