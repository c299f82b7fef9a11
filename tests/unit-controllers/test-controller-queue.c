/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-queue.h"

#define MS 1000

static void
test_dedup (void)
{
  g_autoptr (ControllerQueue) q = controller_queue_new (5 * MS, 1000 * MS);
  char *k;

  for (int i = 0; i < 10; i++)
    controller_queue_add (q, "a");
  controller_queue_add (q, "b");
  controller_queue_add (q, "a");
  g_assert_cmpuint (controller_queue_ready_length (q), ==, 2);
  k = controller_queue_pop (q, 0);
  g_assert_cmpstr (k, ==, "a");
  g_free (k);
  /* Re-adding while it is being reconciled queues it once more. */
  controller_queue_add (q, "a");
  k = controller_queue_pop (q, 0);
  g_assert_cmpstr (k, ==, "b");
  g_free (k);
  k = controller_queue_pop (q, 0);
  g_assert_cmpstr (k, ==, "a");
  g_free (k);
  g_assert_null (controller_queue_pop (q, 0));
}

static void
test_add_after (void)
{
  g_autoptr (ControllerQueue) q = controller_queue_new (5 * MS, 1000 * MS);
  char *k;

  controller_queue_add_after (q, "a", 100 * MS, 0);
  controller_queue_add_after (q, "a", 300 * MS, 0); /* later: keeps the earlier deadline */
  controller_queue_add_after (q, "b", 50 * MS, 0);
  g_assert_cmpint (controller_queue_next_deadline (q), ==, 50 * MS);
  g_assert_null (controller_queue_pop (q, 49 * MS));
  k = controller_queue_pop (q, 50 * MS);
  g_assert_cmpstr (k, ==, "b");
  g_free (k);
  g_assert_null (controller_queue_pop (q, 99 * MS));
  /* An earlier requeue moves the deadline forward. */
  controller_queue_add_after (q, "a", 10 * MS, 80 * MS);
  k = controller_queue_pop (q, 90 * MS);
  g_assert_cmpstr (k, ==, "a");
  g_free (k);
  g_assert_cmpint (controller_queue_next_deadline (q), ==, -1);

  /* Due keys come out in deadline order. */
  controller_queue_add_after (q, "late", 30 * MS, 0);
  controller_queue_add_after (q, "early", 10 * MS, 0);
  controller_queue_add_after (q, "mid", 20 * MS, 0);
  k = controller_queue_pop (q, 100 * MS);
  g_assert_cmpstr (k, ==, "early");
  g_free (k);
  k = controller_queue_pop (q, 100 * MS);
  g_assert_cmpstr (k, ==, "mid");
  g_free (k);
  k = controller_queue_pop (q, 100 * MS);
  g_assert_cmpstr (k, ==, "late");
  g_free (k);
}

static void
test_add_cancels_delay (void)
{
  g_autoptr (ControllerQueue) q = controller_queue_new (5 * MS, 1000 * MS);
  char *k;

  controller_queue_add_after (q, "a", 100 * MS, 0);
  controller_queue_add (q, "a");
  g_assert_cmpuint (controller_queue_delayed_length (q), ==, 0);
  k = controller_queue_pop (q, 0);
  g_assert_cmpstr (k, ==, "a");
  g_free (k);
  g_assert_null (controller_queue_pop (q, 1000 * MS));
  /* A ready key ignores add_after. */
  controller_queue_add (q, "a");
  controller_queue_add_after (q, "a", 100 * MS, 0);
  g_assert_cmpuint (controller_queue_delayed_length (q), ==, 0);
  g_assert_cmpuint (controller_queue_ready_length (q), ==, 1);
}

static void
test_backoff (void)
{
  g_autoptr (ControllerQueue) q = controller_queue_new (10 * MS, 50 * MS);
  gint64 expect[] = { 10, 20, 40, 50, 50, 50 };
  gint64 now = 0;

  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      g_autofree char *k = NULL;

      controller_queue_add_rate_limited (q, "a", now);
      g_assert_cmpint (controller_queue_next_deadline (q) - now, ==, expect[i] * MS);
      g_assert_null (controller_queue_pop (q, now + expect[i] * MS - 1));
      k = controller_queue_pop (q, now + expect[i] * MS);
      g_assert_cmpstr (k, ==, "a");
      now += expect[i] * MS;
    }
  g_assert_cmpuint (controller_queue_failures (q, "a"), ==, G_N_ELEMENTS (expect));
  controller_queue_forget (q, "a");
  g_assert_cmpuint (controller_queue_failures (q, "a"), ==, 0);
  controller_queue_add_rate_limited (q, "a", now);
  g_assert_cmpint (controller_queue_next_deadline (q) - now, ==, 10 * MS);
  /* Backoff of one key does not affect another. */
  controller_queue_add_rate_limited (q, "b", now);
  g_assert_cmpuint (controller_queue_failures (q, "b"), ==, 1);
}

static void
test_many_overflow (void)
{
  g_autoptr (ControllerQueue) q = controller_queue_new (1, G_MAXINT64 / 4);

  /* Hundreds of failures must not overflow the delay. */
  for (int i = 0; i < 200; i++)
    controller_queue_add_rate_limited (q, "a", 0);
  g_assert_cmpint (controller_queue_next_deadline (q), >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/controller-queue/dedup", test_dedup);
  g_test_add_func ("/controller-queue/add-after", test_add_after);
  g_test_add_func ("/controller-queue/add-cancels-delay", test_add_cancels_delay);
  g_test_add_func ("/controller-queue/backoff", test_backoff);
  g_test_add_func ("/controller-queue/overflow", test_many_overflow);
  return g_test_run ();
}
