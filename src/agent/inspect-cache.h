/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the agent knows of its containers' inspect (state, restarts, health, exit code, stop
 * timeout) without asking Docker again.  An entry holds until Docker's event stream says the
 * container changed, or the stream reconnects (events.c).  What the agent does itself is expected:
 * the start of a container it just created changes nothing it does not know (the entry it made
 * from that start stays good), and the events of a container it removes are no news either. */

#include <json-glib/json-glib.h>

/* The entry for @id (a new reference) or NULL; *@ret_seq (may be NULL) for inspect_cache_put(). */
JsonObject *inspect_cache_get (const char *id, guint64 *ret_seq);
/* Stores @info's Id, RestartCount, State and Config.StopTimeout for @id, unless an event for it came after inspect_cache_get() returned @seq. */
void inspect_cache_put (const char *id, guint64 seq, JsonObject *info);
/* The agent is about to @action ("start") @id: that one event is not news.  Returns the sequence
 * number for inspect_cache_put() of what the action is known to make. */
guint64 inspect_cache_expect (const char *id, const char *action);
/* The agent is about to stop and remove @id: none of its events is news any more (a stop that
 * outlasts its timeout sends a second kill; the destroy ends it all). */
void inspect_cache_removing (const char *id);
/* An event of Docker's for @id: FALSE when it was an expected one (nothing to look at again). */
gboolean inspect_cache_event (const char *id, const char *action);
void inspect_cache_forget (const char *id);
/* Everything (events may have been missed). */
void inspect_cache_invalidate (void);

/* The inspect of a container that has just been started, as Docker would answer it: running since
 * now (no sooner), no restarts, health "starting" when it has a healthcheck, the StopTimeout it
 * was created with (@stop_timeout, NULL: none). */
JsonObject *inspect_cache_started (const char *id, gboolean has_healthcheck, JsonNode *stop_timeout);
