/**
 * diagnostics_channel events. Publishing is guarded by `hasSubscribers`, so they
 * cost nothing while nobody listens.
 *
 * - `bayeux-server:session:create`  `{ session }`
 * - `bayeux-server:session:destroy` `{ session, reason }`
 * - `bayeux-server:publish`         `{ message, session }` (session undefined for server publishes)
 * - `bayeux-server:bad-input`       `{ transport, reason, ... }`
 */
import diagnosticsChannel from 'node:diagnostics_channel'

export const sessionCreate = diagnosticsChannel.channel('bayeux-server:session:create')
export const sessionDestroy = diagnosticsChannel.channel('bayeux-server:session:destroy')
export const publish = diagnosticsChannel.channel('bayeux-server:publish')
export const badInput = diagnosticsChannel.channel('bayeux-server:bad-input')
