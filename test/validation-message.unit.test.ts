import { describe, expect, it } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import 'reflect-metadata';
import { PublishDto } from '../src/api/publish.dto.js';
import { validationMessages } from '../src/common/validation-message.js';
import { UpdatePreferencesDto } from '../src/notifications/notifications.dto.js';

/** The 400 message of a body, validated as the app's ValidationPipe does. */
async function messageOf(dto: new () => object, body: object): Promise<string> {
  const errors = await validate(plainToInstance(dto, body), {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  return validationMessages(errors).join('; ');
}

const VALID_PUBLISH = { to: { userIds: ['1'] }, channel: 'order', title: 't', body: 'b' };
/** A valid publish body but for `overrides`. */
const publish = (overrides: object) => ({ ...VALID_PUBLISH, ...overrides });

describe('validation messages of nested fields', () => {
  it('name the field once, by its path, when the rule already names it (no "quietHours.quietHours.start")', async () => {
    expect(
      await messageOf(UpdatePreferencesDto, { quietHours: { start: '24:00', end: '07:00', timeZone: 'UTC' } }),
    ).toBe('quietHours.start must be HH:MM (00:00 to 23:59)');
    expect(await messageOf(PublishDto, publish({ to: { userIds: ['x'] } }))).toBe(
      'to.userIds must be decimal user ids as strings',
    );
    expect(
      await messageOf(
        PublishDto,
        publish({ actions: [{ id: 'a', label: 'x', url: 'javascript:x', style: 'primary' }] }),
      ),
    ).toBe('actions.0.url must be an http(s) URL');
  });

  it("prefix class-validator's own messages with the path, as before", async () => {
    expect(await messageOf(PublishDto, publish({ actions: [{ id: 'a', label: 'x' }] }))).toBe(
      'actions.0.style is required',
    );
  });
});
