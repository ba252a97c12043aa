import { createApp } from './create-app';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  // The consumer runner reads this line to learn the port.
  console.log(`listening on ${await app.getUrl()}`);
}

bootstrap().catch((error: unknown) => {
  console.error('consumer app: cannot start:', error);
  process.exit(1);
});
