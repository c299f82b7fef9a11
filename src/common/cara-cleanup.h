/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Auto-cleanup declarations for the foreign types we use, so that g_autoptr() works on all of
 * them.  Include this header rather than declaring cleanups locally. */

#include <glib.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <systemd/sd-bus.h>
#include <yaml.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURLM, curl_multi_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURLU, curl_url_cleanup)

static inline void
cara_curl_slist_free (struct curl_slist *l)
{
  curl_slist_free_all (l);
}
typedef struct curl_slist CaraCurlSlist;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraCurlSlist, cara_curl_slist_free)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_slot, sd_bus_slot_unref)

static inline void
cara_sd_bus_error_free (sd_bus_error *e)
{
  sd_bus_error_free (e);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (sd_bus_error, cara_sd_bus_error_free)

typedef struct MHD_Response CaraMhdResponse;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraMhdResponse, MHD_destroy_response)

static inline void
cara_yaml_parser_clear (yaml_parser_t *p)
{
  yaml_parser_delete (p);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_parser_t, cara_yaml_parser_clear)

static inline void
cara_yaml_event_clear (yaml_event_t *e)
{
  yaml_event_delete (e);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_event_t, cara_yaml_event_clear)

static inline void
cara_yaml_emitter_clear (yaml_emitter_t *e)
{
  yaml_emitter_delete (e);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_emitter_t, cara_yaml_emitter_clear)
