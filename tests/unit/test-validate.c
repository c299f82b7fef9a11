/* SPDX-License-Identifier: Apache-2.0 */
/* Every validation rule: one case that passes and one that fails with the right field path. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-validate.h"

typedef struct {
  const char *name;
  const char *json;  /* single quotes stand for double quotes */
  const char *error; /* expected message prefix, NULL = valid */
} Case;

#define SVC "{'name':'web','image':'nginx'}"
#define P(spec) "{'metadata':{'name':'demo'},'spec':" spec "}"
#define S(...) P ("{'services':[" __VA_ARGS__ "]}")

static const Case project_cases[] = {
  /* reference §3.1 names, SPEC project names */
  { "name ok", S (SVC), NULL },
  { "name single char", "{'metadata':{'name':'a'},'spec':{'services':[" SVC "]}}", NULL },
  { "name 63 chars", "{'metadata':{'name':'" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "'},'spec':{'services':[" SVC "]}}", NULL },
  { "name missing", "{'spec':{'services':[" SVC "]}}", "metadata.name: name is required" },
  { "name 64 chars", "{'metadata':{'name':'" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "'},'spec':{'services':[" SVC "]}}",
    "metadata.name: name \"aaaaaaaaaaaaaaaaaaaa\"... is 64 characters long: must be no more than 63 characters" },
  { "name uppercase", "{'metadata':{'name':'Web'},'spec':{'services':[" SVC "]}}",
    "metadata.name: name \"Web\" is invalid: must consist of lowercase alphanumeric characters or hyphens (-), and must start and end with an alphanumeric character" },
  { "name leading hyphen", "{'metadata':{'name':'-web'},'spec':{'services':[" SVC "]}}", "metadata.name: name \"-web\" is invalid" },
  { "name trailing hyphen", "{'metadata':{'name':'web-'},'spec':{'services':[" SVC "]}}", "metadata.name: name \"web-\" is invalid" },
  { "name space", "{'metadata':{'name':'my web'},'spec':{'services':[" SVC "]}}", "metadata.name: name \"my web\" is invalid" },
  { "name dots", "{'metadata':{'name':'my.web'},'spec':{'services':[" SVC "]}}",
    "metadata.name: name \"my.web\" is invalid: project names may not contain dots: they are used in Docker container names and DNS labels" },
  { "name leading dot", "{'metadata':{'name':'.web'},'spec':{'services':[" SVC "]}}", "metadata.name: name \".web\" is invalid" },
  /* image references are checked in every service, with the field path */
  { "image bad", S (SVC ",{'name':'db','image':'Postgres:15'}"),
    "spec.services[1].image: invalid image reference \"Postgres:15\": the repository name must be lowercase" },
  { "image digest", S ("{'name':'web','image':'nginx@sha256:0123456789abcdef0123456789abcdef'}"), NULL },
  /* labels / annotations */
  { "labels ok", "{'metadata':{'name':'a','labels':{'app':'web','example.com/tier':'front_end-1.2','empty':''},'annotations':{'note':'anything at all: yes'}},'spec':{'services':[" SVC "]}}", NULL },
  { "label key bad", "{'metadata':{'name':'a','labels':{'bad key':'x'}},'spec':{'services':[" SVC "]}}", "metadata.labels.bad key: key \"bad key\" is invalid" },
  { "label key bad prefix", "{'metadata':{'name':'a','labels':{'Example.com/x':'x'}},'spec':{'services':[" SVC "]}}", "metadata.labels.Example.com/x: key \"Example.com/x\" is invalid" },
  { "label key empty", "{'metadata':{'name':'a','labels':{'':'x'}},'spec':{'services':[" SVC "]}}", "metadata.labels.: key \"\" is invalid" },
  { "label value bad", "{'metadata':{'name':'a','labels':{'app':'a b'}},'spec':{'services':[" SVC "]}}", "metadata.labels.app: value \"a b\" is invalid" },
  { "label value too long", "{'metadata':{'name':'a','labels':{'app':'" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "'}},'spec':{'services':[" SVC "]}}", "metadata.labels.app: value" },
  { "annotation key bad", "{'metadata':{'name':'a','annotations':{'a/b/c':'x'}},'spec':{'services':[" SVC "]}}", "metadata.annotations.a/b/c: key \"a/b/c\" is invalid" },
  /* reference §3.2 */
  { "no services", P ("{'services':[]}"), "spec.services: must contain at least one service" },
  { "no spec", "{'metadata':{'name':'a'}}", "spec.services: must contain at least one service" },
  { "service name empty", S (SVC ",{'image':'x'}"), "spec.services[1].name: each service must have a non-empty name" },
  { "service image empty", S (SVC ",{'name':'db'}"), "spec.services[1].image: service db: image is required" },
  { "go order: image before service name format", S ("{'name':'A','image':'x'},{'name':'db'}"), "spec.services[1].image: service db: image is required" },
  { "ingress ok", P ("{'services':[" SVC "],'ingress':[{'name':'i','host':'h.example.com','target':{'service':'web','port':80},'access':{'scope':'Internal'}},{'name':'j','target':{'service':'web','port':65535}}]}"), NULL },
  { "ingress name empty", P ("{'services':[" SVC "],'ingress':[{'target':{'service':'web','port':80}}]}"), "spec.ingress[0].name: each ingress entry must have a non-empty name" },
  { "ingress name duplicate", P ("{'services':[" SVC "],'ingress':[{'name':'i','target':{'service':'web','port':80}},{'name':'i','target':{'service':'web','port':80}}]}"), "spec.ingress[1].name: duplicate ingress name: i" },
  { "ingress unknown service", P ("{'services':[" SVC "],'ingress':[{'name':'i','target':{'service':'api','port':80}}]}"), "spec.ingress[0].target.service: ingress i: target service api does not exist in spec.services" },
  { "ingress port zero", P ("{'services':[" SVC "],'ingress':[{'name':'i','target':{'service':'web','port':0}}]}"), "spec.ingress[0].target.port: ingress i: target port must be greater than 0" },
  { "ingress port too big", P ("{'services':[" SVC "],'ingress':[{'name':'i','target':{'service':'web','port':65536}}]}"), "spec.ingress[0].target.port: ingress i: target port 65536 is out of range 1-65535" },
  /* service names (SPEC) */
  { "service name 63", S ("{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','image':'x'}"), NULL },
  { "service name dots", S (SVC ",{'name':'my.db','image':'x'}"), "spec.services[1].name: name \"my.db\" is invalid: service names may not contain dots" },
  { "service name upper", S (SVC ",{'name':'DB','image':'x'}"), "spec.services[1].name: name \"DB\" is invalid: must consist of lowercase" },
  { "service name too long", S ("{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','image':'x'}"), "spec.services[0].name: name \"aaaaaaaaaaaaaaaaaaaa\"... is 64 characters long" },
  { "service name duplicate", S (SVC "," SVC), "spec.services[1].name: duplicate service name \"web\"" },
  /* volumes */
  { "volumes ok", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'data','mountPath':'/data','readOnly':true},{'name':'cache_1','mountPath':'/cache'}]}],'volumes':[{'name':'data','type':'Persistent'},{'name':'cache_1','type':'Ephemeral'}]}"), NULL },
  { "volume name empty", P ("{'services':[" SVC "],'volumes':[{'type':'Ephemeral'}]}"), "spec.volumes[0].name: each volume must have a non-empty name" },
  { "volume name bad", P ("{'services':[" SVC "],'volumes':[{'name':'Data!','type':'Ephemeral'}]}"), "spec.volumes[0].name: name \"Data!\" is invalid" },
  { "volume duplicate", P ("{'services':[" SVC "],'volumes':[{'name':'d','type':'Ephemeral'},{'name':'d','type':'Persistent'}]}"), "spec.volumes[1].name: duplicate volume name \"d\"" },
  { "volume type missing", P ("{'services':[" SVC "],'volumes':[{'name':'d'}]}"), "spec.volumes[0].type: volume d: type is required (Ephemeral, Persistent or HostPath)" },
  { "mount undeclared", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'nope','mountPath':'/d'}]}]}"), "spec.services[0].volumeMounts[0].name: service web: volume \"nope\" is not declared in spec.volumes" },
  { "mount name empty", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'mountPath':'/d'}]}]}"), "spec.services[0].volumeMounts[0].name: service web: volume mount name is required" },
  { "mount path missing", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'d'}]}],'volumes':[{'name':'d','type':'Ephemeral'}]}"), "spec.services[0].volumeMounts[0].mountPath: service web: mountPath is required" },
  { "mount path relative", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'d','mountPath':'data'}]}],'volumes':[{'name':'d','type':'Ephemeral'}]}"), "spec.services[0].volumeMounts[0].mountPath: service web: mountPath \"data\" must be an absolute path" },
  { "mount path duplicate", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'d','mountPath':'/a'},{'name':'d','mountPath':'/a'}]}],'volumes':[{'name':'d','type':'Ephemeral'}]}"), "spec.services[0].volumeMounts[1].mountPath: service web: duplicate mountPath \"/a\"" },
  /* env */
  { "env ok", S ("{'name':'web','image':'x','env':[{'name':'A','value':'1'},{'name':'EMPTY'},{'name':'lower_case.dots','value':'a=b'}]}"), NULL },
  { "env name empty", S ("{'name':'web','image':'x','env':[{'name':'A'},{'value':'1'}]}"), "spec.services[0].env[1].name: service web: env name is required" },
  { "env name with =", S ("{'name':'web','image':'x','env':[{'name':'A=B','value':'1'}]}"), "spec.services[0].env[0].name: service web: env name \"A=B\" must not contain '='" },
  /* command */
  { "command ok", S ("{'name':'web','image':'x','command':['sh','-c','']}"), NULL },
  { "command empty program", S ("{'name':'web','image':'x','command':['','x']}"), "spec.services[0].command[0]: service web: the program name must not be empty" },
  /* ports */
  { "ports ok", S ("{'name':'web','image':'x','ports':[{'containerPort':80,'hostPort':8080},{'containerPort':53,'hostPort':8080,'protocol':'udp'},{'containerPort':65535}]},{'name':'b','image':'x','ports':[{'containerPort':80,'hostPort':1}]}"), NULL },
  { "containerPort missing", S ("{'name':'web','image':'x','ports':[{'hostPort':8080}]}"), "spec.services[0].ports[0].containerPort: service web: containerPort is required" },
  { "containerPort too big", S ("{'name':'web','image':'x','ports':[{'containerPort':65536}]}"), "spec.services[0].ports[0].containerPort: service web: port 65536 is out of range 1-65535" },
  { "containerPort negative", S ("{'name':'web','image':'x','ports':[{'containerPort':-1}]}"), "spec.services[0].ports[0].containerPort: service web: port -1 is out of range 1-65535" },
  { "hostPort too big", S ("{'name':'web','image':'x','ports':[{'containerPort':80,'hostPort':70000}]}"), "spec.services[0].ports[0].hostPort: service web: port 70000 is out of range 1-65535" },
  { "hostPort duplicate", S ("{'name':'web','image':'x','ports':[{'containerPort':80,'hostPort':8080}]},{'name':'b','image':'x','ports':[{'containerPort':81,'hostPort':8080,'protocol':'tcp'}]}"), "spec.services[1].ports[0].hostPort: service b: host port 8080/tcp is already used by service web" },
  /* resources */
  { "resources ok", S ("{'name':'web','image':'x','resources':{'cpu':'500m','memory':'256Mi'}},{'name':'b','image':'x','resources':{'cpu':'2','memory':'1G'}},{'name':'c','image':'x','resources':{'cpu':'0.5','memory':'1.5Gi'}}"), NULL },
  { "cpu bad", S ("{'name':'web','image':'x','resources':{'cpu':'fast'}}"), "spec.services[0].resources.cpu: invalid cpu quantity \"fast\"" },
  { "cpu too fine", S ("{'name':'web','image':'x','resources':{'cpu':'0.0005'}}"), "spec.services[0].resources.cpu: invalid cpu quantity \"0.0005\": finer than 1m" },
  { "cpu zero", S ("{'name':'web','image':'x','resources':{'cpu':'0'}}"), "spec.services[0].resources.cpu: service web: cpu must be greater than 0" },
  { "memory bad", S ("{'name':'web','image':'x','resources':{'memory':'256MB'}}"), "spec.services[0].resources.memory: invalid quantity \"256MB\": unknown suffix \"MB\"" },
  { "memory fraction", S ("{'name':'web','image':'x','resources':{'memory':'0.5'}}"), "spec.services[0].resources.memory: invalid quantity \"0.5\": not a whole number of bytes" },
  { "memory too small", S ("{'name':'web','image':'x','resources':{'memory':'1Mi'}}"), "spec.services[0].resources.memory: service web: memory must be at least 6Mi" },
  /* healthcheck */
  { "healthcheck ok", S ("{'name':'web','image':'x','healthcheck':{'command':['true'],'intervalSeconds':5,'timeoutSeconds':1,'retries':3}},{'name':'b','image':'x','healthcheck':{'command':['true']}}"), NULL },
  { "healthcheck no command", S ("{'name':'web','image':'x','healthcheck':{'intervalSeconds':5}}"), "spec.services[0].healthcheck.command: service web: healthcheck command is required" },
  { "healthcheck empty command", S ("{'name':'web','image':'x','healthcheck':{'command':['']}}"), "spec.services[0].healthcheck.command: service web: healthcheck command is required" },
  { "healthcheck negative interval", S ("{'name':'web','image':'x','healthcheck':{'command':['true'],'intervalSeconds':-1}}"), "spec.services[0].healthcheck.intervalSeconds: service web: must not be negative" },
  { "healthcheck negative timeout", S ("{'name':'web','image':'x','healthcheck':{'command':['true'],'timeoutSeconds':-1}}"), "spec.services[0].healthcheck.timeoutSeconds: service web: must not be negative" },
  { "healthcheck negative retries", S ("{'name':'web','image':'x','healthcheck':{'command':['true'],'retries':-2}}"), "spec.services[0].healthcheck.retries: service web: must not be negative" },
  /* dependsOn */
  { "dependsOn ok", S ("{'name':'web','image':'x','dependsOn':['db','cache']},{'name':'db','image':'x'},{'name':'cache','image':'x','dependsOn':['db']}"), NULL },
  { "dependsOn unknown", S ("{'name':'web','image':'x','dependsOn':['db']}"), "spec.services[0].dependsOn[0]: service web: depends on unknown service \"db\"" },
  { "dependsOn itself", S ("{'name':'web','image':'x','dependsOn':['web']}"), "spec.services[0].dependsOn[0]: service web: cannot depend on itself" },
  { "dependsOn cycle", S ("{'name':'web','image':'x','dependsOn':['db']},{'name':'db','image':'x','dependsOn':['web']}"), "spec.services[0].dependsOn: dependency cycle: web -> db -> web" },
  { "dependsOn long cycle", S ("{'name':'a','image':'x'},{'name':'b','image':'x','dependsOn':['c']},{'name':'c','image':'x','dependsOn':['d']},{'name':'d','image':'x','dependsOn':['b','a']}"), "spec.services[1].dependsOn: dependency cycle: b -> c -> d -> b" },
  /* dependsOn conditions */
  { "dependsOn conditions ok", S ("{'name':'web','image':'x','dependsOn':[{'name':'db','condition':'Healthy'},{'name':'init','condition':'Completed'},{'name':'cache','condition':'Started'},'cache2']},{'name':'db','image':'x','healthcheck':{'command':['true']}},{'name':'init','image':'x','restartPolicy':'Never'},{'name':'cache','image':'x'},{'name':'cache2','image':'x'}"), NULL },
  { "dependsOn object unknown", S ("{'name':'web','image':'x','dependsOn':[{'name':'db','condition':'Started'}]}"), "spec.services[0].dependsOn[0]: service web: depends on unknown service \"db\"" },
  { "dependsOn Healthy without healthcheck", S ("{'name':'web','image':'x','dependsOn':[{'name':'db','condition':'Healthy'}]},{'name':'db','image':'x'}"), "spec.services[0].dependsOn[0]: service web: condition Healthy needs a healthcheck on service db, which has none" },
  { "dependsOn Completed with Always", S ("{'name':'web','image':'x','dependsOn':[{'name':'init','condition':'Completed'}]},{'name':'init','image':'x'}"), "spec.services[0].dependsOn[0]: service web: condition Completed needs service init to have restartPolicy Never or OnFailure" },
  { "dependsOn object cycle", S ("{'name':'web','image':'x','dependsOn':[{'name':'db','condition':'Started'}]},{'name':'db','image':'x','dependsOn':['web']}"), "spec.services[0].dependsOn: dependency cycle: web -> db -> web" },
  /* how the container runs */
  { "runtime fields ok", S ("{'name':'web','image':'x','entrypoint':['/bin/sh','-c'],'workingDir':'/srv','user':'1000:1000','labels':{'com.example.team':'payments and more','flag':''},'capAdd':['NET_ADMIN','cap_sys_time'],'capDrop':['ALL'],'stopGracePeriodSeconds':0,'stopSignal':'SIGINT','ports':[{'containerPort':80,'hostPort':8080,'hostIP':'127.0.0.1'},{'containerPort':81,'hostPort':8081,'hostIP':'::1'}],'healthcheck':{'command':['true'],'startPeriodSeconds':30}}"), NULL },
  { "entrypoint empty program", S ("{'name':'web','image':'x','entrypoint':['','x']}"), "spec.services[0].entrypoint[0]: service web: the program name must not be empty" },
  { "workingDir relative", S ("{'name':'web','image':'x','workingDir':'srv'}"), "spec.services[0].workingDir: service web: workingDir \"srv\" must be an absolute path" },
  { "user empty", S ("{'name':'web','image':'x','user':''}"), "spec.services[0].user: service web: user must be a name or id" },
  { "user with space", S ("{'name':'web','image':'x','user':'a b'}"), "spec.services[0].user: service web: user must be a name or id" },
  { "labels cara reserved", S ("{'name':'web','image':'x','labels':{'a':'b','cara.project':'other'}}"), "spec.services[0].labels.cara.project: service web: label keys cara.* are reserved for the agent" },
  { "labels cara reserved any case", S ("{'name':'web','image':'x','labels':{'CARA.node':'n'}}"), "spec.services[0].labels.CARA.node: service web: label keys cara.* are reserved" },
  { "labels key with space", S ("{'name':'web','image':'x','labels':{'a b':'c'}}"), "spec.services[0].labels.a b: service web: a label key must be non-empty, without spaces" },
  { "capAdd bad", S ("{'name':'web','image':'x','capAdd':['NET ADMIN']}"), "spec.services[0].capAdd[0]: service web: \"NET ADMIN\" is not a capability name" },
  { "capDrop empty", S ("{'name':'web','image':'x','capDrop':['ALL','']}"), "spec.services[0].capDrop[1]: service web: \"\" is not a capability name" },
  { "stopSignal bad", S ("{'name':'web','image':'x','stopSignal':'SIG INT'}"), "spec.services[0].stopSignal: service web: \"SIG INT\" is not a signal" },
  { "stopGracePeriod negative", S ("{'name':'web','image':'x','stopGracePeriodSeconds':-5}"), "spec.services[0].stopGracePeriodSeconds: service web: must not be negative" },
  { "startPeriod negative", S ("{'name':'web','image':'x','healthcheck':{'command':['true'],'startPeriodSeconds':-1}}"), "spec.services[0].healthcheck.startPeriodSeconds: service web: must not be negative" },
  { "hostIP bad", S ("{'name':'web','image':'x','ports':[{'containerPort':80,'hostPort':80,'hostIP':'localhost'}]}"), "spec.services[0].ports[0].hostIP: service web: \"localhost\" is not an IP address" },
  { "hostIP without hostPort", S ("{'name':'web','image':'x','ports':[{'containerPort':80,'hostIP':'127.0.0.1'}]}"), NULL },
  /* HostPath volumes */
  { "hostPath ok", P ("{'services':[{'name':'web','image':'x','volumeMounts':[{'name':'media','mountPath':'/media','readOnly':true}]}],'volumes':[{'name':'media','type':'HostPath','hostPath':'/srv/media'}]}"), NULL },
  { "hostPath missing", P ("{'services':[" SVC "],'volumes':[{'name':'media','type':'HostPath'}]}"), "spec.volumes[0].hostPath: volume media: type HostPath needs hostPath (an absolute path on the node)" },
  { "hostPath relative", P ("{'services':[" SVC "],'volumes':[{'name':'media','type':'HostPath','hostPath':'srv/media'}]}"), "spec.volumes[0].hostPath: volume media: hostPath \"srv/media\" must be an absolute path on the node" },
  { "hostPath colon", P ("{'services':[" SVC "],'volumes':[{'name':'media','type':'HostPath','hostPath':'/srv:/etc'}]}"), "spec.volumes[0].hostPath: volume media: hostPath \"/srv:/etc\" must not contain ':' or ','" },
  { "hostPath on Persistent", P ("{'services':[" SVC "],'volumes':[{'name':'data','type':'Persistent','hostPath':'/srv'}]}"), "spec.volumes[0].hostPath: volume data: hostPath is only for type HostPath" },
  /* nodeSelector */
  { "nodeSelector ok", P ("{'services':[" SVC "],'nodeSelector':{'zone':'eu-1','example.com/gpu':'true'}}"), NULL },
  { "nodeSelector bad", P ("{'services':[" SVC "],'nodeSelector':{'zone':'eu 1'}}"), "spec.nodeSelector.zone: value \"eu 1\" is invalid" },
  /* everything at once is valid */
  { "full", "{'apiVersion':'caravanserai/v1','kind':'Project','metadata':{'name':'shop','labels':{'team':'a'}},'spec':{'services':[{'name':'web','image':'nginx','env':[{'name':'A','value':'1'}],'volumeMounts':[{'name':'data','mountPath':'/d','readOnly':true}],'command':['nginx'],'ports':[{'containerPort':80,'hostPort':8080,'protocol':'tcp'}],'resources':{'cpu':'500m','memory':'256Mi'},'restartPolicy':'OnFailure','healthcheck':{'command':['true'],'intervalSeconds':5,'timeoutSeconds':2,'retries':3},'dependsOn':['db']},{'name':'db','image':'postgres'}],'volumes':[{'name':'data','type':'Persistent'}],'ingress':[{'name':'i','host':'shop','target':{'service':'web','port':80},'access':{'scope':'Internal'}}],'nodeSelector':{'zone':'a'},'expireAt':'2030-01-01T00:00:00Z'},'status':{'phase':'Pending'}}", NULL },
};

static const Case node_cases[] = {
  { "node ok", "{'metadata':{'name':'node-1'}}", NULL },
  { "node dots ok", "{'metadata':{'name':'node.example.com'}}", NULL },
  { "node single char", "{'metadata':{'name':'a'}}", NULL },
  { "node name missing", "{'metadata':{}}", "metadata.name: name is required" },
  { "node name uppercase", "{'metadata':{'name':'Node'}}",
    "metadata.name: name \"Node\" is invalid: must consist of lowercase alphanumeric characters, hyphens (-) or dots (.), and must start and end with an alphanumeric character" },
  { "node name trailing dot", "{'metadata':{'name':'node.'}}", "metadata.name: name \"node.\" is invalid" },
  { "node name special", "{'metadata':{'name':'no_de'}}", "metadata.name: name \"no_de\" is invalid" },
  { "node name long quoted to 40", "{'metadata':{'name':'" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "'}}",
    "metadata.name: name \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"... is invalid" },
  { "node labels bad", "{'metadata':{'name':'n','labels':{'a b':'c'}}}", "metadata.labels.a b: key \"a b\" is invalid" },
  { "node capacity ok", "{'metadata':{'name':'n'},'status':{'capacity':{'cpu':'4','memory':'8Gi','disk':'100G','pods':'110'},'allocatable':{'cpu':'3500m','memory':'7.5Gi'},'network':{'agentPort':9090}}}", NULL },
  { "node capacity cpu bad", "{'metadata':{'name':'n'},'status':{'capacity':{'cpu':'four'}}}", "status.capacity.cpu: invalid cpu quantity \"four\"" },
  { "node allocatable memory bad", "{'metadata':{'name':'n'},'status':{'allocatable':{'memory':'lots'}}}", "status.allocatable.memory: invalid quantity \"lots\"" },
  { "node agentPort bad", "{'metadata':{'name':'n'},'status':{'network':{'agentPort':70000}}}", "status.network.agentPort: port 70000 is out of range 1-65535" },
};

static char *
unquote (const char *s)
{
  char *r = g_strdup (s);

  for (char *p = r; *p != '\0'; p++)
    if (*p == '\'')
      *p = '"';
  return r;
}

static void
check (const Case *c, gboolean node)
{
  g_autofree char *json = unquote (c->json);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (node)
    {
      g_autoptr(CaraNode) n = cara_node_from_data (json, -1, &error);
      g_assert_no_error (error);
      ok = cara_validate_node (n, &error);
    }
  else
    {
      g_autoptr(CaraProject) p = cara_project_from_data (json, -1, &error);
      g_assert_no_error (error);
      ok = cara_validate_project (p, &error);
    }
  if (c->error == NULL)
    {
      if (!ok)
        g_error ("%s: expected valid, got: %s", c->name, error->message);
      return;
    }
  if (ok)
    g_error ("%s: expected error \"%s\", got none", c->name, c->error);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, c->error))
    g_error ("%s:\n  expected prefix: %s\n  got:             %s", c->name, c->error, error->message);
}

static void
test_project (gconstpointer data)
{
  check (data, FALSE);
}

static void
test_node (gconstpointer data)
{
  check (data, TRUE);
}

static void
test_name_functions (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *long_name = g_strnfill (254, 'a');

  g_assert_true (cara_validate_node_name ("a.b-c", NULL));
  g_assert_false (cara_validate_node_name (long_name, &error));
  g_assert_cmpstr (error->message, ==,
                   "metadata.name: name \"aaaaaaaaaaaaaaaaaaaa\"... is 254 characters long: must be no more than 253 characters");
  g_clear_error (&error);
  long_name[253] = '\0';
  g_assert_true (cara_validate_node_name (long_name, NULL));
  g_assert_true (cara_validate_project_name ("web-1", NULL));
  g_assert_false (cara_validate_project_name ("", &error));
  g_clear_error (&error);
  g_assert_true (cara_validate_service_name ("db", "spec.services[0].name", NULL));
  g_assert_false (cara_validate_service_name (NULL, "x.name", &error));
  g_assert_cmpstr (error->message, ==, "x.name: each service must have a non-empty name");
}

/* ---- image references: Docker's grammar (distribution/reference) ---- */

typedef struct {
  const char *ref;
  const char *error; /* expected message after "spec.services[0].image: invalid image reference "REF": ", NULL = valid */
} ImageCase;

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const ImageCase image_cases[] = {
  { "nginx", NULL },
  { "nginx:alpine", NULL },
  { "library/nginx:1.25.3-alpine", NULL },
  { "docker.io/library/nginx:latest", NULL },
  { "localhost:5000/a/b:tag", NULL },
  { "localhost/a", NULL },
  { "registry.example.com:443/team/app_v2", NULL },
  { "127.0.0.1:5000/x", NULL },
  { "[::1]:5000/x:1", NULL },
  { "a@sha256:" HEX64, NULL },
  { "a:1@sha256:" HEX64, NULL },
  { "a@sha256+b64u.x_y-z:0123456789ABCDEF0123456789abcdef", NULL },
  { "my-app.a__b--c:_Tag.1-x", NULL },
  { "UPPER/foo", NULL }, /* Docker reads an upper-case first component as a registry host */
  { "caravanserai/busybox:local", NULL },
  { "cara-test/busybox:latest", NULL },
  { "UPPER", "the repository name must be lowercase" },
  { "library/Nginx", "the repository name must be lowercase" },
  { "a:", "the tag after ':' is empty" },
  { ":tag", "the repository name is missing" },
  { "@sha256:" HEX64, "the repository name is missing" },
  { "a//b", "empty path component" },
  { "a/", "empty path component" },
  { "/a", "empty path component" },
  { "localhost:5000/", "empty path component" },
  { "a:-tag", "the tag must start with a letter, digit or '_'" },
  { "a:t@g", "the digest after '@'" },
  { "a:tag:more", "path component \"a:tag\"" },
  { "a@sha256:abc", "the digest after '@' must be ALGORITHM:HEX with at least 32" },
  { "a@sha256:" HEX64 "g", "the digest after '@'" },
  { "a@:" HEX64, "the digest after '@'" },
  { "a@1sha:" HEX64, "the digest after '@'" },
  { "a@sha256:0123456789abcdef0123456789abcdef@b", "the digest after '@'" },
  { "a..b", "path component \"a..b\"" },
  { "a___b", "path component \"a___b\"" },
  { "-a", "path component \"-a\"" },
  { "a-", "path component \"a-\"" },
  { "a b", "path component \"a b\"" },
  { "my image", "path component \"my image\"" },
  { "exa_mple.com:5000/x", "the registry \"exa_mple.com:5000\" is not a valid host[:port]" },
  { "example.com:port/x", "the registry \"example.com:port\"" },
  { "-example.com/x", "the registry \"-example.com\"" },
  { "example..com/x", "the registry \"example..com\"" },
  { "localhost:/x", "the registry \"localhost:\"" },
  { "[zz]/x", "path component \"[zz]\"" }, /* no '.' or ':': not a registry */
  { "[zz]:1/x", "the registry \"[zz]:1\"" },
  { "[::1/x", "the registry \"[::1\"" },
};

static void
test_image_reference (void)
{
  g_autofree char *tag128 = g_strnfill (128, 't');
  g_autofree char *tag129 = g_strnfill (129, 't');
  g_autofree char *name255 = g_strnfill (255, 'a');
  g_autofree char *name256 = g_strnfill (256, 'a');
  g_autofree char *ok_tag = g_strconcat ("a:", tag128, NULL);
  g_autofree char *long_tag = g_strconcat ("a:", tag129, NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (image_cases); i++)
    {
      const ImageCase *c = &image_cases[i];
      g_autoptr(GError) e = NULL;
      gboolean ok = cara_validate_image_reference (c->ref, "spec.services[0].image", &e);
      g_autofree char *prefix = NULL;

      if (c->error == NULL)
        {
          if (!ok)
            g_error ("%s: expected valid, got: %s", c->ref, e->message);
          continue;
        }
      if (ok)
        g_error ("%s: expected \"%s\", got valid", c->ref, c->error);
      g_assert_error (e, CARA_ERROR, CARA_ERROR_INVALID);
      prefix = g_strdup_printf ("spec.services[0].image: invalid image reference \"%s\": ", c->ref);
      if (!g_str_has_prefix (e->message, prefix) || strstr (e->message, c->error) == NULL)
        g_error ("%s:\n  expected: %s%s...\n  got:      %s", c->ref, prefix, c->error, e->message);
    }

  g_assert_true (cara_validate_image_reference (ok_tag, "x", NULL));
  g_assert_false (cara_validate_image_reference (long_tag, "x", &error));
  g_assert_nonnull (strstr (error->message, "the tag is 129 characters long: must be no more than 128"));
  g_clear_error (&error);
  g_assert_true (cara_validate_image_reference (name255, "x", NULL));
  g_assert_false (cara_validate_image_reference (name256, "x", &error));
  g_assert_nonnull (strstr (error->message, "the repository name is 256 characters long"));
  g_clear_error (&error);
  g_assert_false (cara_validate_image_reference ("", "x", &error));
  g_assert_cmpstr (error->message, ==, "x: image is required");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (project_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/validate/project/%s", project_cases[i].name);
      g_test_add_data_func (path, &project_cases[i], test_project);
    }
  for (guint i = 0; i < G_N_ELEMENTS (node_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/validate/node/%s", node_cases[i].name);
      g_test_add_data_func (path, &node_cases[i], test_node);
    }
  g_test_add_func ("/validate/name-functions", test_name_functions);
  g_test_add_func ("/validate/image-reference", test_image_reference);
  return g_test_run ();
}
