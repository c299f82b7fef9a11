/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The resource model: Node and Project with every field of SPEC §2, plain C structs owned by
 * their parent.  JSON encoding/decoding lives in cara-json.h, validation in cara-validate.h. */

#include <glib.h>

#define CARA_API_VERSION_STRING "caravanserai/v1"

/* SPEC §13: what caractrl apply records as a revision's change cause, and the annotation caractrl
 * rollout restart changes to roll every service without a spec change (it counts as a spec change
 * for metadata.generation, and goes into every service's spec hash on the agent). */
#define CARA_CHANGE_CAUSE_ANNOTATION "caravanserai/change-cause"
#define CARA_RESTARTED_AT_ANNOTATION "caravanserai/restarted-at"

/* ---- enums; every enum has to_string/from_string.  *_NONE is the empty string on the wire. ---- */

typedef enum {
  CARA_PROJECT_PHASE_NONE,
  CARA_PROJECT_PHASE_PENDING,
  CARA_PROJECT_PHASE_SCHEDULED,
  CARA_PROJECT_PHASE_RUNNING,
  CARA_PROJECT_PHASE_FAILED,
  CARA_PROJECT_PHASE_TERMINATING,
  CARA_PROJECT_PHASE_TERMINATED,
} CaraProjectPhase;

typedef enum {
  CARA_NODE_STATE_NONE,
  CARA_NODE_STATE_READY,
  CARA_NODE_STATE_NOT_READY,
  CARA_NODE_STATE_DRAINING,
} CaraNodeState;

typedef enum {
  CARA_RESTART_POLICY_NONE, /* not given: behaves as Always */
  CARA_RESTART_POLICY_ALWAYS,
  CARA_RESTART_POLICY_ON_FAILURE,
  CARA_RESTART_POLICY_NEVER,
} CaraRestartPolicy;

typedef enum {
  CARA_VOLUME_TYPE_NONE,
  CARA_VOLUME_TYPE_EPHEMERAL,
  CARA_VOLUME_TYPE_PERSISTENT,
  CARA_VOLUME_TYPE_HOST_PATH, /* a directory of the node, bind-mounted (hostPath) */
} CaraVolumeType;

typedef enum {
  CARA_PROTOCOL_NONE, /* not given: tcp */
  CARA_PROTOCOL_TCP,
  CARA_PROTOCOL_UDP,
} CaraProtocol;

/* A dependsOn item's condition; NONE: the item was a plain name (which means Started). */
typedef enum {
  CARA_DEPEND_CONDITION_NONE,
  CARA_DEPEND_CONDITION_STARTED,
  CARA_DEPEND_CONDITION_HEALTHY,
  CARA_DEPEND_CONDITION_COMPLETED,
} CaraDependCondition;

typedef enum {
  CARA_INGRESS_SCOPE_NONE,
  CARA_INGRESS_SCOPE_INTERNAL,
} CaraIngressScope;

typedef enum {
  CARA_UPDATE_ORDER_NONE, /* not given: StartFirst */
  CARA_UPDATE_ORDER_START_FIRST,
  CARA_UPDATE_ORDER_STOP_FIRST,
} CaraUpdateOrder;

typedef enum {
  CARA_FAILURE_ACTION_NONE, /* not given: Rollback */
  CARA_FAILURE_ACTION_ROLLBACK,
  CARA_FAILURE_ACTION_PAUSE,
} CaraFailureAction;

/* Each returns NULL for an out-of-range value; NONE maps to "". */
const char *cara_project_phase_to_string (CaraProjectPhase v);
const char *cara_node_state_to_string (CaraNodeState v);
const char *cara_restart_policy_to_string (CaraRestartPolicy v);
const char *cara_volume_type_to_string (CaraVolumeType v);
const char *cara_protocol_to_string (CaraProtocol v);
const char *cara_ingress_scope_to_string (CaraIngressScope v);
const char *cara_depend_condition_to_string (CaraDependCondition v);
const char *cara_update_order_to_string (CaraUpdateOrder v);
const char *cara_failure_action_to_string (CaraFailureAction v);
/* Each returns FALSE for an unknown string; "" gives NONE. */
gboolean cara_project_phase_from_string (const char *s, CaraProjectPhase *ret);
gboolean cara_node_state_from_string (const char *s, CaraNodeState *ret);
gboolean cara_restart_policy_from_string (const char *s, CaraRestartPolicy *ret);
gboolean cara_volume_type_from_string (const char *s, CaraVolumeType *ret);
gboolean cara_protocol_from_string (const char *s, CaraProtocol *ret);
gboolean cara_ingress_scope_from_string (const char *s, CaraIngressScope *ret);
gboolean cara_depend_condition_from_string (const char *s, CaraDependCondition *ret);
gboolean cara_update_order_from_string (const char *s, CaraUpdateOrder *ret);
gboolean cara_failure_action_from_string (const char *s, CaraFailureAction *ret);

/* ---- common ---- */

/* Times are GDateTime (UTC); NULL is Go's zero time, emitted as "0001-01-01T00:00:00Z". */
typedef struct {
  char *name;
  GHashTable *labels;      /* char* -> char*, never NULL */
  GHashTable *annotations; /* char* -> char*, never NULL */
  GDateTime *created_at;
  GDateTime *updated_at;
  char *resource_version;  /* NULL when absent */
  gint64 generation;       /* +1 per spec change (SPEC §13); 0 when absent */
} CaraObjectMeta;

/* For kinds defined outside this file (cara-secret.h). */
void cara_object_meta_init (CaraObjectMeta *m, const char *name);
void cara_object_meta_clear (CaraObjectMeta *m);

typedef struct {
  char *type;
  char *status; /* True | False | Unknown */
  GDateTime *last_heartbeat_time;
  GDateTime *last_transition_time;
  char *reason;
  char *message;
} CaraCondition;

CaraCondition *cara_condition_new (const char *type, const char *status, const char *reason,
                                   const char *message);
CaraCondition *cara_condition_copy (const CaraCondition *c);
void cara_condition_free (CaraCondition *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraCondition, cara_condition_free)

/* Replace the first condition of the same type (lastTransitionTime = now), else append.
 * Takes ownership of @c. */
void cara_conditions_upsert (GPtrArray *conditions, CaraCondition *c);
CaraCondition *cara_conditions_find (GPtrArray *conditions, const char *type);
gboolean cara_conditions_remove (GPtrArray *conditions, const char *type);

/* ---- Node ---- */

typedef struct {
  char *download;
  char *upload;
  GDateTime *last_test_time;
} CaraThroughput;

typedef struct {
  char *ip;
  char *dns_name;
  char *mode; /* Direct | DERP */
  gint64 agent_port;
  CaraThroughput throughput;
} CaraNodeNetwork;

typedef struct {
  char *kernel_version;
  char *os_image;
  char *agent_version;
} CaraNodeInfo;

typedef struct {
  CaraObjectMeta metadata;
  struct {
    char *hostname;
    gboolean unschedulable;
  } spec;
  struct {
    CaraNodeState state;
    CaraNodeNetwork network;
    GHashTable *capacity;    /* resource name -> quantity string; never NULL */
    GHashTable *allocatable; /* never NULL */
    CaraNodeInfo info;
    GDateTime *last_heartbeat;
    GPtrArray *conditions;   /* CaraCondition*, never NULL */
  } status;
} CaraNode;

CaraNode *cara_node_new (const char *name);
CaraNode *cara_node_copy (const CaraNode *n);
void cara_node_free (CaraNode *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraNode, cara_node_free)

/* Body of POST /api/v1/nodes/{name}/heartbeat (all optional). */
typedef struct {
  CaraNodeState state;          /* NONE when absent */
  gboolean has_network;
  CaraNodeNetwork network;
  GHashTable *capacity;         /* NULL when absent */
  GHashTable *allocatable;      /* NULL when absent */
  gboolean has_info;
  CaraNodeInfo info;
} CaraHeartbeat;

CaraHeartbeat *cara_heartbeat_new (void);
void cara_heartbeat_free (CaraHeartbeat *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraHeartbeat, cara_heartbeat_free)

/* ---- Project ---- */

typedef struct {
  char *name;
  char *value; /* NULL when absent */
  char *secret_ref; /* valueFrom.secret (SPEC §12); NULL when absent */
  char *secret_key; /* valueFrom.key */
} CaraEnvVar;

/* A service's secrets[] item (SPEC §12): files of a Secret's values in the container. */
typedef struct {
  char *secret;
  char *key;  /* NULL: every key */
  char *path; /* NULL: /run/secrets/SECRET (one key) or /run/secrets/SECRET/KEY (several) */
  gint64 mode; /* file mode; 0 when absent (0400) */
} CaraSecretMount;

typedef struct {
  char *name;
  char *mount_path;
  gboolean read_only;
} CaraVolumeMount;

typedef struct {
  gint64 container_port;
  gint64 host_port; /* 0 when absent */
  CaraProtocol protocol;
  char *host_ip;    /* address the host port binds to; NULL when absent (all) */
} CaraPort;

typedef struct {
  char *cpu;    /* quantity string as given, e.g. "500m"; NULL when absent */
  char *memory; /* e.g. "256Mi"; NULL when absent */
} CaraResources;

typedef struct {
  char **command; /* NULL-terminated; NULL when absent */
  gint64 interval_seconds;
  gint64 timeout_seconds;
  gint64 retries;
  gint64 start_period_seconds;
} CaraHealthcheck;

typedef struct {
  char *name;
  char *image;
  GPtrArray *env;           /* CaraEnvVar*, never NULL */
  GPtrArray *volume_mounts; /* CaraVolumeMount*, never NULL */
  char **command;           /* NULL when absent */
  GPtrArray *ports;         /* CaraPort*, never NULL */
  CaraResources resources;
  CaraRestartPolicy restart_policy;
  CaraHealthcheck *healthcheck; /* NULL when absent */
  char **depends_on;        /* NULL when absent */
  /* One per depends_on entry, or NULL when every entry was a plain name. */
  CaraDependCondition *depends_on_conditions;
  char **entrypoint;        /* NULL when absent (the image's) */
  char *working_dir;        /* NULL when absent */
  char *user;               /* NULL when absent */
  GHashTable *labels;       /* container labels; NULL when absent; keys cara.* are refused */
  char **cap_add;           /* NULL when absent */
  char **cap_drop;          /* NULL when absent */
  gint64 stop_grace_period_seconds; /* < 0 when absent (the agent's stop timeout) */
  char *stop_signal;        /* NULL when absent (the image's, else SIGTERM) */
  GPtrArray *secrets;       /* CaraSecretMount*, never NULL */
} CaraService;

typedef struct {
  char *name;
  CaraVolumeType type;
  char *host_path; /* type HostPath: absolute path on the node; else NULL */
} CaraVolume;

typedef struct {
  char *name;
  char *host;
  struct {
    char *service;
    gint64 port;
  } target;
  struct {
    CaraIngressScope scope;
  } access;
  struct {
    char *secret; /* SPEC §13: a Secret holding tls.crt and tls.key; NULL: no TLS */
  } tls;
} CaraIngress;

typedef struct {
  char *name;
  char *container_id;
  char *state;   /* Docker state: created, running, exited, ... */
  gint64 restart_count;
  char *health;  /* healthy | unhealthy | starting | NULL */
} CaraServiceStatus;

/* spec.update (SPEC §13): how changed services are rolled. */
typedef struct {
  CaraUpdateOrder order;
  CaraFailureAction failure_action;
  gint64 monitor_seconds; /* 0 when absent: 10 */
} CaraUpdateStrategy;

#define CARA_UPDATE_DEFAULT_MONITOR_SECONDS 10

typedef struct {
  CaraObjectMeta metadata;
  struct {
    GPtrArray *services;      /* CaraService*, never NULL */
    GPtrArray *volumes;       /* CaraVolume*, never NULL */
    GPtrArray *ingress;       /* CaraIngress*, never NULL */
    GHashTable *node_selector; /* never NULL */
    GDateTime *expire_at;     /* NULL when absent */
    char **image_pull_secrets; /* names of Registry Secrets; NULL when absent */
    CaraUpdateStrategy update; /* all NONE/0 when absent */
  } spec;
  struct {
    CaraProjectPhase phase;
    char *node_ref;
    gint64 observed_generation; /* the generation the agent has fully rolled out; 0: none yet */
    GPtrArray *conditions;    /* CaraCondition*, never NULL */
    GPtrArray *services;      /* CaraServiceStatus*, never NULL */
    struct _CaraMigration *migration; /* a move between nodes (SPEC §14); NULL when none */
  } status;
} CaraProject;

CaraProject *cara_project_new (const char *name);
CaraProject *cara_project_copy (const CaraProject *p);
/* Exchanges what a user sets (spec, labels, annotations) between @a and @b: an update takes the
 * body's, and the body then owns (and frees) the old ones. */
void cara_project_swap_desired (CaraProject *a, CaraProject *b);
void cara_project_free (CaraProject *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraProject, cara_project_free)

CaraService *cara_service_new (const char *name, const char *image);
void cara_service_free (CaraService *s);
CaraServiceStatus *cara_service_status_new (const char *name);
void cara_service_status_free (CaraServiceStatus *s);
CaraService *cara_project_find_service (const CaraProject *p, const char *name);
/* The condition of @s's @i-th dependsOn entry (Started for a plain name). */
CaraDependCondition cara_service_depend_condition (const CaraService *s, guint i);

/* Body of PATCH /api/v1/projects/{name}/status. */
typedef struct {
  CaraProjectPhase phase;
  char *reason;
  char *message;
  gboolean has_services;
  GPtrArray *services; /* CaraServiceStatus*, never NULL */
  GPtrArray *conditions; /* CaraCondition*, never NULL: upserted besides Phase (ServicesReady) */
  gint64 observed_generation; /* 0: not reported (the stored one is kept) */
  /* An update to generation rollback_generation failed with failureAction Rollback: the server
   * makes the previous revision the spec again (SPEC §13), if that generation is still current. */
  gint64 rollback_generation; /* 0: no rollback asked */
  char *rollback_reason;
} CaraStatusReport;

CaraStatusReport *cara_status_report_new (void);
void cara_status_report_free (CaraStatusReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraStatusReport, cara_status_report_free)

/* ---- status.migration (SPEC §14): a move of a project, with its data, to another node ---- */

typedef enum {
  CARA_MIGRATION_PHASE_NONE,
  CARA_MIGRATION_PHASE_STOPPING,
  CARA_MIGRATION_PHASE_COPYING,
  CARA_MIGRATION_PHASE_STARTING,
  CARA_MIGRATION_PHASE_DONE,
  CARA_MIGRATION_PHASE_FAILED,
} CaraMigrationPhase;

typedef struct _CaraMigration {
  char *from;
  char *to;
  CaraMigrationPhase phase;
  gint64 bytes_copied;
  gint64 bytes_total;
  char *message;
  gboolean discard_data;
} CaraMigration;

const char *cara_migration_phase_to_string (CaraMigrationPhase v);
gboolean cara_migration_phase_from_string (const char *s, CaraMigrationPhase *ret);
CaraMigration *cara_migration_new (const char *from, const char *to);
CaraMigration *cara_migration_copy (const CaraMigration *m);
void cara_migration_free (CaraMigration *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraMigration, cara_migration_free)
/* Stopping, Copying or Starting: the move is under way. */
gboolean cara_migration_active (const CaraMigration *m);
/* TRUE when @p has volumes whose data lives on its node (Persistent, HostPath). */
gboolean cara_project_has_node_data (const CaraProject *p);
