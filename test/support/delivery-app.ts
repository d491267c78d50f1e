import { startTestApp, type TestApp } from './app.js';
import { startPushService, type TestPushService } from './push-service.js';
import { TestSmtpServer } from './smtp.js';

/**
 * The app delivering by email to a real SMTP server and by push to the tests' push service
 * (its origin allowed, with `alsoAllow` beside it); `env` on top. On a failed start, what had
 * started is closed again.
 */
export async function startDeliveryApp(
  env: Record<string, string> = {},
  alsoAllow: string[] = [],
): Promise<{ t: TestApp; smtp: TestSmtpServer; push: TestPushService }> {
  const smtp = new TestSmtpServer();
  let push: TestPushService | undefined;
  try {
    await smtp.start();
    const started = await startPushService();
    push = started.push;
    const t = await startTestApp({
      ...env,
      SMTP_URL: smtp.url,
      ...started.env,
      PUSH_ENDPOINT_ALLOWLIST: [push.origin, ...alsoAllow].join(','),
    });
    return { t, smtp, push };
  } catch (e) {
    await smtp.close();
    await push?.close();
    throw e;
  }
}
