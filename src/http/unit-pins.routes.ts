// PUT/DELETE /api/v1/departments/:id/pin (admin): the unit's PIN for the feedback line, asked of
// a caller whose number is not one of the unit's contacts. Stored hashed (unit-pins.ts), never
// returned; each change is in the audit log without the PIN.
import type { FastifyPluginAsync } from 'fastify';
import { AuditLog } from '../admin/audit.js';
import type { Store } from '../db/store.js';
import type { DepartmentStore } from '../departments/store.js';
import type { UnitPins } from '../feedback/unit-pins.js';
import { actorOf } from './auth.js';
import { errorBodySchema, HttpError } from './errors.js';

const params = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const body = { type: 'object', additionalProperties: false, required: ['pin'], properties: { pin: { type: 'string', pattern: '^[0-9]{4,8}$' } }, examples: [{ pin: '4071' }] } as const;
const pinState = { type: 'object', required: ['departmentId', 'pinSet'], properties: { departmentId: { type: 'string' }, pinSet: { type: 'boolean' } } } as const;
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };

export const unitPinRoutes: FastifyPluginAsync<{ departments: DepartmentStore; pins: UnitPins; store: Store }> = async (app, { departments, pins, store }) => {
  const audit = new AuditLog(store);
  const known = (id: string): void => {
    if (!departments.current().departmentsById.has(id)) throw new HttpError(404, 'department_not_found', `no department ${id}`);
  };

  app.put<{ Params: { id: string }; Body: { pin: string } }>(
    '/api/v1/departments/:id/pin',
    { onRequest: app.requireRole('admin'), schema: { params, body, response: { 200: pinState, ...errors } } },
    async (request) => {
      known(request.params.id);
      await pins.set(request.params.id, request.body.pin, actorOf(request));
      await audit.record(actorOf(request), 'department.pin.set', { departmentId: request.params.id });
      return { departmentId: request.params.id, pinSet: true };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/departments/:id/pin',
    { onRequest: app.requireRole('admin'), schema: { params, response: { 200: pinState, ...errors } } },
    async (request) => {
      known(request.params.id);
      if (await pins.clear(request.params.id)) await audit.record(actorOf(request), 'department.pin.clear', { departmentId: request.params.id });
      return { departmentId: request.params.id, pinSet: false };
    },
  );
  return Promise.resolve();
};
