/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "eventdesk-bench"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "ed-event.h"
#include "ed-guest.h"
#include "ed-password.h"
#include "ed-store.h"
#include "ed-time-util.h"

/* The guest-list benchmark of "eventdeskd core", point 11: fills one event
 * with half a million guests through the store's bulk path, starts the real
 * daemon on that data and times the guest list over HTTP on loopback (first
 * page, pages near the end by key, searches, a status filter), then reads
 * the daemon's resident memory. It prints every figure next to its target
 * and exits 1 when a core target is missed.
 */

#define DEFAULT_GUESTS 500000
#define DEFAULT_REPEAT 50
#define WARM_UP 5
#define PAGE_LIMIT 50
#define ROWS_PER_TRANSACTION 100000
#define SMALL_EVENT_GUESTS 2000
#define SEED 20240611
#define PAGE_TARGET_MS 20.0
#define SEARCH_TARGET_MS 50.0
#define MEMORY_TARGET_MB 100.0
#define DAEMON_START_TIMEOUT_S 60
#define DAEMON_STOP_TIMEOUT_S 40
#define HTTP_TIMEOUT_S 60
#define ADMIN_NAME "bench"
#define ADMIN_PASSWORD "bench-password-of-some-length"

/* Searches whose expected match counts the fill computes while it writes. */
#define NAME_FRAGMENT "okonk"
#define BROAD_NAME_FRAGMENT "mar"
#define BROAD_EMAIL_FRAGMENT "gmail"

static const char * const first_names[] = {
  "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
  "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
  "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa",
  "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley",
  "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
  "Mohammed", "Fatima", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun",
  "Kenneth", "Dorothy", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa",
  "Timothy", "Deborah", "Ronald", "Stephanie", "Edward", "Rebecca", "Jason", "Sharon",
  "Olga", "Dmitri", "Søren", "Björn", "Zoë", "José", "François", "Amélie",
  "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen", "Gary", "Amy",
  "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen", "Brenda",
  "Jürgen", "Łukasz", "Małgorzata", "Chloé", "Matteo", "Giulia", "Lorenzo", "Francesca",
  "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
  "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra",
  "Pablo", "Lucía", "Diego", "Sofía", "João", "Leonor", "Kwame", "Ama",
  "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine",
  "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth",
  "Chidi", "Ngozi", "Oluwaseun", "Thandiwe", "Siddharth", "Deepika", "Jun", "Minh",
  "Adam", "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Douglas", "Victoria",
  "Zachary", "Kelly", "Peter", "Lauren", "Kyle", "Christina", "Ethan", "Joan",
  "Linh", "Hyun-woo", "Ji-yeon", "Emre", "Elif", "Ömer", "Zeynep", "Lars",
  "Walter", "Evelyn", "Noah", "Judith", "Jeremy", "Megan", "Christian", "Andrea",
  "Keith", "Cheryl", "Roger", "Hannah", "Terry", "Jacqueline", "Gerald", "Martha",
  "Ingrid", "Sven", "Astrid", "Niamh", "Siobhan", "Declan", "Aoife", "Ahmed",
  "Harold", "Gloria", "Sean", "Teresa", "Austin", "Ann", "Carl", "Sara",
  "Arthur", "Madison", "Lawrence", "Frances", "Dylan", "Kathryn", "Jesse", "Janice",
  "Aisha", "Ivan", "Natasha", "Kenji", "Sakura", "Rahul", "Ananya", "Ines",
  "Jordan", "Jean", "Bryan", "Abigail", "Bruce", "Judy", "Gabriel", "Sophia",
  "Logan", "Grace", "Albert", "Denise", "Alan", "Doris", "Juan", "Marilyn",
  "Elijah", "Beverly", "Isabella", "Vincent", "Diana", "Natalie", "Eugene", "Charlotte",
};

static const char * const last_names[] = {
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
  "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
  "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao",
  "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
  "Müller", "Schneider", "Fischer", "Weber", "Becker", "Schulz", "Hoffmann", "Wagner",
  "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
  "Singh", "Kumar", "Sharma", "Gupta", "Patel", "Khan", "Ali", "Hassan",
  "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
  "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rossi", "Russo", "Ferrari",
  "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
  "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
  "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker",
  "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Novák", "Svoboda", "Horváth", "Nagy",
  "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
  "Ivanov", "Smirnov", "Kuznetsov", "Popov", "Petrov", "Jensen", "Nielsen", "Andersson",
  "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
  "Kim", "Park", "Choi", "Jung", "Kang", "Pham", "Tran", "Le",
  "Reed", "Kelly", "Howard", "Ramos", "Cox", "Ward", "Richardson", "Watson",
  "Johansson", "Karlsson", "Nilsson", "Virtanen", "Korhonen", "O'Brien", "O'Connor", "Byrne",
  "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz",
  "Yılmaz", "Kaya", "Demir", "Şahin", "Papadopoulos", "Georgiou", "Cohen", "Levi",
  "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Myers", "Long", "Ross",
  "Foster", "Jimenez", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell",
  "Haddad", "Khalil", "Reddy", "Iyer", "Banerjee", "Wu", "Zhou", "Xu",
  "Coleman", "Butler", "Henderson", "Barnes", "Fisher", "Vasquez", "Simmons", "Romero",
  "Patterson", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West",
  "Kobayashi", "Hoang", "Vo", "Adeyemi", "Mensah", "Mwangi", "Otieno", "Dlamini",
  "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Medina", "Aguilar",
  "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
  "Nkosi", "van den Berg", "de Vries", "Jansen", "Bakker", "Visser", "Peeters", "Janssens",
  "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Freeman",
  "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter",
  "da Silva", "Oliveira", "Souza", "Pereira", "Costa", "Almeida", "Carvalho", "Ferreira",
  "Hunter", "Gordon", "Mendez", "Shaw", "Snyder", "Mason", "Dixon", "Munoz",
  "Hunt", "Hicks", "Holmes", "Palmer", "Black", "Robertson", "Boyd", "Rose",
  "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt",
  "Garza", "Daniels", "Ferguson", "Nichols", "Stephens", "Soto", "Weaver", "Ryan",
  "Gardner", "Payne", "Grant", "Dunn", "Spencer", "Hawkins", "Arnold", "Pierce",
  "Okafor", "Okonkwo", "Esposito", "Bianchi", "Romano", "Kovács", "Mizrahi", "Nakashima",
};

static const char * const domains[] = {
  "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me",
  "gmx.de", "web.de", "orange.fr", "free.fr", "libero.it", "seznam.cz",
  "wp.pl", "yandex.ru", "naver.com", "qq.com", "163.com", "rediffmail.com",
  "fastmail.com", "posteo.de", "mail.com", "aol.com", "comcast.net", "btinternet.com",
  "acme-corp.com", "globex.example", "initech.io", "umbrella-group.org", "northwind.co.uk",
  "contoso.com", "stark-industries.net", "wayne-enterprises.com", "uni-heidelberg.de",
  "ox.ac.uk", "mit.edu", "tu-berlin.de", "epfl.ch", "kth.se",
};

static const char * const dietary[] = {
  "vegetarian", "vegan", "gluten-free", "halal", "kosher", "no nuts",
};

/* A discrete distribution where entry k of n weighs 1 / (k + bias): a few
 * common names and a long tail of rare ones, as in real guest lists.
 */
typedef struct
{
  double *cumulative;
  guint   n;
} Skew;

static void
skew_init (Skew  *skew,
           guint  n,
           double bias)
{
  double sum = 0;

  skew->n = n;
  skew->cumulative = g_new (double, n);
  for (guint k = 0; k < n; k++)
    {
      sum += 1.0 / (k + bias);
      skew->cumulative[k] = sum;
    }
  for (guint k = 0; k < n; k++)
    skew->cumulative[k] /= sum;
}

static void
skew_clear (Skew *skew)
{
  g_clear_pointer (&skew->cumulative, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Skew, skew_clear)

static guint
skew_pick (const Skew *skew,
           GRand      *rand)
{
  double u = g_rand_double (rand);
  guint lo = 0, hi = skew->n - 1;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (skew->cumulative[mid] < u)
        lo = mid + 1;
      else
        hi = mid;
    }

  return lo;
}

/* The ASCII, lower-case form of a name for an email's local part. */
static char *
name_to_local_part (const char *name)
{
  g_autofree char *ascii = g_str_to_ascii (name, "C");
  GString *local = g_string_new (NULL);

  for (const char *p = ascii; *p; p++)
    if (g_ascii_isalnum (*p) || *p == '-')
      g_string_append_c (local, g_ascii_tolower (*p));

  return g_string_free (local, FALSE);
}

typedef struct
{
  const char *label;
  char       *path;
  double      target_ms;
  gboolean    core;        /* one of the targets of the issue, not extra information */
  double      cold_ms;     /* the first request, before any warm-up */
  GArray     *samples;     /* double, milliseconds */
  gint64      total;       /* "total" of the answer */
  guint       n_items;
  gint64      expected;    /* the total the fill computed, or -1 */
} Figure;

static void
figure_free (Figure *figure)
{
  g_free (figure->path);
  g_clear_pointer (&figure->samples, g_array_unref);
  g_free (figure);
}

typedef struct
{
  /* options */
  char        *eventdeskd;
  gint         n_guests;
  gint         repeat;
  gboolean     keep;

  /* owned */
  char        *data_dir;
  GSubprocess      *daemon;
  GDataInputStream *daemon_stdout;
  SoupSession      *session;
  char             *base_url;
  char             *token;
  GPtrArray        *figures;

  /* what the fill learned */
  gint64       event_id;
  gint64       small_event_id;
  gint64       last_id_near_end;
  gint64       name_near_end;
  gint64       email_near_end;
  gint64       accepted_near_end;
  char        *email_fragment;
  gint64       expected_name;
  gint64       expected_broad_name;
  gint64       expected_broad_email;
  gint64       expected_accepted;
} Bench;

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GError) error = NULL;

  children = g_file_enumerate_children (file,
                                        G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                        NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autoptr(GFileInfo) owned_info = info;
          g_autoptr(GFile) child = g_file_enumerator_get_child (children, owned_info);

          if (g_file_info_get_file_type (owned_info) == G_FILE_TYPE_DIRECTORY)
            remove_tree (child);
          else
            g_file_delete (child, NULL, NULL);
        }
    }

  if (!g_file_delete (file, NULL, &error))
    g_printerr ("bench-guests: cannot remove %s: %s\n", g_file_peek_path (file), error->message);
}

static void
on_async_ready_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
on_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until @result is set or @timeout_s passes. */
static gboolean
wait_for_result (GAsyncResult **result,
                 GCancellable  *cancellable,
                 guint          timeout_s)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (timeout_s, on_timeout_cb, &timed_out);

  while (*result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (*result == NULL)
    {
      /* The cancelled operation still calls back; wait for that too. */
      g_cancellable_cancel (cancellable);
      while (*result == NULL)
        g_main_context_iteration (NULL, TRUE);
      return FALSE;
    }

  g_source_remove (timeout_id);
  return TRUE;
}

static void
stop_daemon (Bench *bench)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (bench->daemon == NULL)
    return;

  g_subprocess_send_signal (bench->daemon, SIGTERM);
  cancellable = g_cancellable_new ();
  g_subprocess_wait_async (bench->daemon, cancellable, on_async_ready_cb, &result);
  if (!wait_for_result (&result, cancellable, DAEMON_STOP_TIMEOUT_S))
    {
      g_printerr ("bench-guests: eventdeskd did not stop within %d s of SIGTERM; killing it\n",
                  DAEMON_STOP_TIMEOUT_S);
      g_subprocess_force_exit (bench->daemon);
      g_subprocess_wait (bench->daemon, NULL, NULL);
    }
  else if (!g_subprocess_wait_finish (bench->daemon, result, &error))
    g_printerr ("bench-guests: waiting for eventdeskd: %s\n", error->message);
  else if (!g_subprocess_get_if_exited (bench->daemon) ||
           g_subprocess_get_exit_status (bench->daemon) != 0)
    g_printerr ("bench-guests: eventdeskd did not exit cleanly after SIGTERM\n");
  else
    g_print ("eventdeskd stopped cleanly after SIGTERM\n");

  g_clear_object (&bench->daemon_stdout);
  g_clear_object (&bench->daemon);
}

static void
bench_clear (Bench *bench)
{
  stop_daemon (bench);
  g_clear_object (&bench->session);

  if (bench->data_dir != NULL)
    {
      g_autoptr(GFile) dir = g_file_new_for_path (bench->data_dir);

      if (bench->keep)
        g_print ("Kept the data directory %s\n", bench->data_dir);
      else
        remove_tree (dir);
    }

  g_clear_pointer (&bench->figures, g_ptr_array_unref);
  g_clear_pointer (&bench->eventdeskd, g_free);
  g_clear_pointer (&bench->data_dir, g_free);
  g_clear_pointer (&bench->base_url, g_free);
  g_clear_pointer (&bench->token, g_free);
  g_clear_pointer (&bench->email_fragment, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Bench, bench_clear)

static gint64
guest_near_end (EdStore      *store,
                gint64        event_id,
                EdGuestSort   sort,
                gboolean      has_status,
                EdRsvpStatus  status,
                GError      **error)
{
  EdGuestQuery query = { 0 };
  g_autoptr(GPtrArray) page = NULL;
  gboolean has_more;

  /* The guest 60 places from the end of that order, read backwards. */
  query.sort = sort;
  query.descending = TRUE;
  query.has_status = has_status;
  query.status = status;
  query.limit = 60;
  if (!(page = ed_store_list_guests (store, event_id, &query, NULL, &has_more, error)))
    return 0;
  g_assert (page->len > 0);

  return ((EdGuest *) g_ptr_array_index (page, page->len - 1))->id;
}

/* Makes the same guests for the same seed: names drawn with a skew over the
 * lists, addresses in a few common styles, a realistic mix of answers.
 */
typedef struct
{
  GRand *rand;
  Skew   first_skew;
  Skew   last_skew;
  Skew   domain_skew;
  GStrv  first_locals;
  GStrv  first_lowers;
  GStrv  last_locals;
  GStrv  last_lowers;
} Generator;

static void
generator_init (Generator *gen,
                guint32    seed)
{
  gen->rand = g_rand_new_with_seed (seed);
  skew_init (&gen->first_skew, G_N_ELEMENTS (first_names), 8);
  skew_init (&gen->last_skew, G_N_ELEMENTS (last_names), 10);
  skew_init (&gen->domain_skew, G_N_ELEMENTS (domains), 2);

  gen->first_locals = g_new0 (char *, G_N_ELEMENTS (first_names) + 1);
  gen->first_lowers = g_new0 (char *, G_N_ELEMENTS (first_names) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (first_names); i++)
    {
      gen->first_locals[i] = name_to_local_part (first_names[i]);
      gen->first_lowers[i] = g_utf8_strdown (first_names[i], -1);
    }

  gen->last_locals = g_new0 (char *, G_N_ELEMENTS (last_names) + 1);
  gen->last_lowers = g_new0 (char *, G_N_ELEMENTS (last_names) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (last_names); i++)
    {
      gen->last_locals[i] = name_to_local_part (last_names[i]);
      gen->last_lowers[i] = g_utf8_strdown (last_names[i], -1);
    }
}

static void
generator_clear (Generator *gen)
{
  g_clear_pointer (&gen->rand, g_rand_free);
  skew_clear (&gen->first_skew);
  skew_clear (&gen->last_skew);
  skew_clear (&gen->domain_skew);
  g_clear_pointer (&gen->first_locals, g_strfreev);
  g_clear_pointer (&gen->first_lowers, g_strfreev);
  g_clear_pointer (&gen->last_locals, g_strfreev);
  g_clear_pointer (&gen->last_lowers, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Generator, generator_clear)

/* Guest @n of the event; @n keeps every address unique. When @fragment is
 * not NULL it receives a fragment of the address (last name and leading
 * digits of the number) that few other addresses share.
 */
static EdGuest *
generator_make_guest (Generator  *gen,
                      gint64      event_id,
                      gint        n,
                      gint64      created_at,
                      char      **fragment)
{
  EdGuest *guest = ed_guest_new ();
  guint first = skew_pick (&gen->first_skew, gen->rand);
  guint last = skew_pick (&gen->last_skew, gen->rand);
  const char *domain = domains[skew_pick (&gen->domain_skew, gen->rand)];
  const char *first_local = gen->first_locals[first];
  const char *last_local = gen->last_locals[last];
  guint style = g_rand_int_range (gen->rand, 0, 10);
  double answer = g_rand_double (gen->rand);

  guest->event_id = event_id;
  guest->first_name = g_strdup (first_names[first]);
  guest->last_name = g_strdup (last_names[last]);

  if (style < 6)
    guest->email = g_strdup_printf ("%s.%s.%d@%s", first_local, last_local, n, domain);
  else if (style < 8)
    guest->email = g_strdup_printf ("%c%s%d@%s", first_local[0], last_local, n, domain);
  else
    guest->email = g_strdup_printf ("%s_%s%d@%s", first_local, last_local, n, domain);

  if (fragment != NULL)
    {
      g_autofree char *digits = g_strdup_printf ("%d", n);

      *fragment = g_strdup_printf ("%s%s%.4s", last_local, style < 6 ? "." : "", digits);
    }

  if (answer < 0.55)
    guest->status = ED_RSVP_PENDING;
  else if (answer < 0.85)
    guest->status = ED_RSVP_ACCEPTED;
  else if (answer < 0.95)
    guest->status = ED_RSVP_DECLINED;
  else if (answer < 0.98)
    guest->status = ED_RSVP_WAITLISTED;
  else
    guest->status = ED_RSVP_CANCELLED;
  guest->party_size = g_rand_int_range (gen->rand, 0, 4) == 0 ? g_rand_int_range (gen->rand, 2, 5) : 1;
  guest->created_at = created_at;

  if (g_rand_int_range (gen->rand, 0, 4) == 0)
    {
      guest->extra = json_object_new ();
      json_object_set_string_member (guest->extra, "dietary",
                                     dietary[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (dietary))]);
      if (g_rand_boolean (gen->rand))
        json_object_set_string_member (guest->extra, "company", domain);
    }

  return guest;
}

/* Whether @guest matches @fragment the way the trigram index does:
 * anywhere in a name or the address, ignoring case.
 */
static gboolean
guest_matches (const EdGuest *guest,
               const char    *fragment)
{
  g_autofree char *first = g_utf8_strdown (guest->first_name, -1);
  g_autofree char *last = g_utf8_strdown (guest->last_name, -1);

  return strstr (first, fragment) != NULL ||
         strstr (last, fragment) != NULL ||
         strstr (guest->email, fragment) != NULL;
}

static gint64
add_event (EdStore     *store,
           const char  *name,
           gint64       capacity,
           GError     **error)
{
  g_autoptr(EdEvent) event = ed_event_new ();

  event->name = g_strdup (name);
  event->venue = g_strdup ("Main hall");
  g_free (event->timezone);
  event->timezone = g_strdup ("Europe/Berlin");
  event->starts_at = ed_time_now () + 30 * 24 * 3600;
  event->capacity = capacity;
  event->max_party_size = 4;
  if (!ed_store_insert_event (store, event, error))
    return 0;

  return event->id;
}

static gboolean
fill_store (Bench   *bench,
            GError **error)
{
  g_autofree char *db_path = g_build_filename (bench->data_dir, "eventdesk.db", NULL);
  g_autofree char *hash = NULL;
  g_autoptr(EdStore) store = NULL;
  g_autoptr(GTimer) timer = NULL;
  g_auto(Generator) gen = { 0 };
  gint64 created_base = ed_time_now () - bench->n_guests;
  gint email_probe = bench->n_guests / 2 + 1234;
  gint64 store_us = 0;
  gint64 start;
  double seconds;

  g_print ("Filling %s with %d guests in one event (seed %d, %d rows per transaction)\n",
           db_path, bench->n_guests, SEED, ROWS_PER_TRANSACTION);

  if (!(store = ed_store_open (db_path, error)))
    return FALSE;
  if (!(hash = ed_password_hash (ADMIN_PASSWORD, error)) ||
      ed_store_add_admin (store, ADMIN_NAME, hash, error) == 0)
    return FALSE;
  if (!(bench->event_id = add_event (store, "Eventdesk benchmark gala", 200000, error)))
    return FALSE;

  generator_init (&gen, SEED);
  timer = g_timer_new ();
  if (!ed_store_begin (store, error))
    return FALSE;

  for (gint n = 1; n <= bench->n_guests; n++)
    {
      g_autoptr(EdGuest) guest = NULL;

      guest = generator_make_guest (&gen, bench->event_id, n, created_base + n,
                                    n == email_probe ? &bench->email_fragment : NULL);

      if (guest_matches (guest, NAME_FRAGMENT))
        bench->expected_name++;
      if (guest_matches (guest, BROAD_NAME_FRAGMENT))
        bench->expected_broad_name++;
      if (guest_matches (guest, BROAD_EMAIL_FRAGMENT))
        bench->expected_broad_email++;
      if (guest->status == ED_RSVP_ACCEPTED)
        bench->expected_accepted++;

      start = g_get_monotonic_time ();
      if (!ed_store_insert_guest (store, guest, error))
        {
          ed_store_rollback (store);
          return FALSE;
        }
      if (n % ROWS_PER_TRANSACTION == 0 || n == bench->n_guests)
        {
          if (!ed_store_commit (store, error))
            {
              ed_store_rollback (store);
              return FALSE;
            }
          if (n < bench->n_guests && !ed_store_begin (store, error))
            return FALSE;
        }
      store_us += g_get_monotonic_time () - start;

      if (n == bench->n_guests - 60)
        bench->last_id_near_end = guest->id;
    }

  seconds = g_timer_elapsed (timer, NULL);
  g_print ("Filled %d guests in %.1f s, %.1f s of it in the store: %.0f rows/s (%.0f rows/s in the store)\n",
           bench->n_guests, seconds, store_us / 1e6,
           bench->n_guests / seconds, bench->n_guests / (store_us / 1e6));

  /* A daemon serves more than one event: a small one created later puts
   * its guests after all of the big one's.
   */
  if (!(bench->small_event_id = add_event (store, "Board dinner", 100, error)) ||
      !ed_store_begin (store, error))
    return FALSE;
  for (gint n = 1; n <= SMALL_EVENT_GUESTS; n++)
    {
      g_autoptr(EdGuest) guest = generator_make_guest (&gen, bench->small_event_id, n,
                                                       ed_time_now (), NULL);

      if (!ed_store_insert_guest (store, guest, error))
        {
          ed_store_rollback (store);
          return FALSE;
        }
    }
  if (!ed_store_commit (store, error))
    {
      ed_store_rollback (store);
      return FALSE;
    }
  g_print ("Added a second event with %d guests\n", SMALL_EVENT_GUESTS);

  if (!(bench->name_near_end = guest_near_end (store, bench->event_id, ED_GUEST_SORT_NAME, FALSE, 0, error)) ||
      !(bench->email_near_end = guest_near_end (store, bench->event_id, ED_GUEST_SORT_EMAIL, FALSE, 0, error)) ||
      !(bench->accepted_near_end = guest_near_end (store, bench->event_id, ED_GUEST_SORT_CREATED,
                                                   TRUE, ED_RSVP_ACCEPTED, error)))
    return FALSE;

  g_timer_start (timer);
  ed_store_close (store);
  g_print ("Closed the store in %.1f s\n", g_timer_elapsed (timer, NULL));

  return TRUE;
}

static void
child_setup (gpointer user_data)
{
  /* The daemon must not outlive a benchmark that dies. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
start_daemon (Bench   *bench,
              GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *log_path = g_build_filename (bench->data_dir, "eventdeskd.log", NULL);
  const char *prefix = "eventdeskd listening on ";

  g_print ("Starting %s --listen 127.0.0.1:0 --data-dir %s (log in %s)\n",
           bench->eventdeskd, bench->data_dir, log_path);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  bench->daemon = g_subprocess_launcher_spawn (launcher, error, bench->eventdeskd,
                                               "--listen", "127.0.0.1:0",
                                               "--data-dir", bench->data_dir,
                                               NULL);
  if (bench->daemon == NULL)
    return FALSE;

  bench->daemon_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench->daemon));

  while (bench->base_url == NULL)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GAsyncResult) result = NULL;
      g_autofree char *line = NULL;

      g_data_input_stream_read_line_async (bench->daemon_stdout, G_PRIORITY_DEFAULT, cancellable,
                                           on_async_ready_cb, &result);
      if (!wait_for_result (&result, cancellable, DAEMON_START_TIMEOUT_S))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "eventdeskd did not report its address within %d s (see %s)",
                       DAEMON_START_TIMEOUT_S, log_path);
          return FALSE;
        }

      line = g_data_input_stream_read_line_finish (bench->daemon_stdout, result, NULL, error);
      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         "eventdeskd exited before it listened (see %s)", log_path);
          return FALSE;
        }

      if (g_str_has_prefix (line, prefix))
        {
          bench->base_url = g_strdup (line + strlen (prefix));
          g_strchomp (bench->base_url);
          if (g_str_has_suffix (bench->base_url, "/"))
            bench->base_url[strlen (bench->base_url) - 1] = '\0';
        }
    }

  g_print ("eventdeskd (pid %s) listens on %s\n",
           g_subprocess_get_identifier (bench->daemon), bench->base_url);
  return TRUE;
}

/* One request; returns the parsed JSON answer and how long it took, from
 * sending the request to reading the last byte of the answer.
 */
static JsonNode *
request_json (Bench       *bench,
              const char  *method,
              const char  *path,
              const char  *body,
              guint        expected_status,
              double      *elapsed_ms,
              GError     **error)
{
  g_autofree char *uri = g_strconcat (bench->base_url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) answer = NULL;
  gint64 start;
  gint64 end;

  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Not a valid URI: %s", uri);
      return NULL;
    }

  if (bench->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", bench->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg),
                                    "Authorization", authorization);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  start = g_get_monotonic_time ();
  answer = soup_session_send_and_read (bench->session, msg, NULL, error);
  end = g_get_monotonic_time ();
  if (answer == NULL)
    return NULL;
  if (elapsed_ms != NULL)
    *elapsed_ms = (end - start) / 1000.0;

  if (soup_message_get_status (msg) != expected_status)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s answered %u: %.*s",
                   method, path, soup_message_get_status (msg),
                   (int) MIN (g_bytes_get_size (answer), 400),
                   (const char *) g_bytes_get_data (answer, NULL));
      return NULL;
    }

  if (!json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                                   g_bytes_get_size (answer), error))
    return NULL;

  return json_node_copy (json_parser_get_root (parser));
}

static gboolean
log_in (Bench   *bench,
        GError **error)
{
  g_autoptr(JsonNode) answer = NULL;
  const char *token;

  bench->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S,
                                                  "max-conns-per-host", 1,
                                                  NULL);

  answer = request_json (bench, "POST", "/api/v1/session",
                         "{\"username\": \"" ADMIN_NAME "\", \"password\": \"" ADMIN_PASSWORD "\"}",
                         SOUP_STATUS_CREATED, NULL, error);
  if (answer == NULL)
    return FALSE;

  token = JSON_NODE_HOLDS_OBJECT (answer)
    ? json_object_get_string_member_with_default (json_node_get_object (answer), "token", NULL)
    : NULL;
  if (token == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The login answer has no token");
      return FALSE;
    }
  bench->token = g_strdup (token);

  return TRUE;
}

static Figure *
add_figure (Bench      *bench,
            const char *label,
            gboolean    core,
            double      target_ms,
            gint64      expected,
            const char *format,
            ...) G_GNUC_PRINTF (6, 7);

static Figure *
add_figure (Bench      *bench,
            const char *label,
            gboolean    core,
            double      target_ms,
            gint64      expected,
            const char *format,
            ...)
{
  Figure *figure = g_new0 (Figure, 1);
  va_list args;

  va_start (args, format);
  figure->path = g_strdup_vprintf (format, args);
  va_end (args);
  figure->label = label;
  figure->core = core;
  figure->target_ms = target_ms;
  figure->expected = expected;
  figure->samples = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (bench->figures, figure);

  return figure;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted,
            double  fraction)
{
  /* The nearest-rank percentile: the smallest sample with at least that
   * fraction of the samples at or below it.
   */
  guint index = (guint) (fraction * sorted->len + 0.999999);

  g_assert (sorted->len > 0);
  return g_array_index (sorted, double, CLAMP (index, 1, sorted->len) - 1);
}

static gboolean
measure (Bench   *bench,
         Figure  *figure,
         GError **error)
{
  for (gint i = 0; i < WARM_UP + bench->repeat; i++)
    {
      g_autoptr(JsonNode) answer = NULL;
      double ms;

      if (!(answer = request_json (bench, "GET", figure->path, NULL, SOUP_STATUS_OK, &ms, error)))
        {
          g_prefix_error (error, "%s: ", figure->label);
          return FALSE;
        }

      if (i == 0)
        {
          JsonObject *object = json_node_get_object (answer);

          figure->cold_ms = ms;
          figure->total = json_object_get_int_member_with_default (object, "total", -1);
          figure->n_items = json_array_get_length (json_object_get_array_member (object, "items"));
        }
      else if (i >= WARM_UP)
        g_array_append_val (figure->samples, ms);
    }

  g_array_sort (figure->samples, compare_doubles);
  return TRUE;
}

static gboolean
read_memory (Bench  *bench,
             double *rss_mb,
             double *hwm_mb)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (bench->daemon));
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  *rss_mb = *hwm_mb = -1;
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "VmRSS:"))
        *rss_mb = g_ascii_strtod (lines[i] + strlen ("VmRSS:"), NULL) / 1024.0;
      else if (g_str_has_prefix (lines[i], "VmHWM:"))
        *hwm_mb = g_ascii_strtod (lines[i] + strlen ("VmHWM:"), NULL) / 1024.0;
    }

  return *rss_mb >= 0 && *hwm_mb >= 0;
}

static const char *
pass_or_fail (gboolean passed)
{
  return passed ? "PASS" : "FAIL";
}

static gboolean
run_figures (Bench    *bench,
             gboolean *all_passed,
             GError  **error)
{
  g_autofree char *email_q = g_uri_escape_string (bench->email_fragment, NULL, FALSE);
  gint64 id = bench->event_id;
  double rss_start, hwm_start, rss_mb, hwm_mb;

  if (!read_memory (bench, &rss_start, &hwm_start))
    rss_start = hwm_start = -1;

  add_figure (bench, "first page", TRUE, PAGE_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "page near the end (by id)", TRUE, PAGE_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?after=%" G_GINT64_FORMAT "&limit=%d",
              id, bench->last_id_near_end, PAGE_LIMIT);
  add_figure (bench, "page near the end (sort=name)", TRUE, PAGE_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?sort=name&after=%" G_GINT64_FORMAT "&limit=%d",
              id, bench->name_near_end, PAGE_LIMIT);
  add_figure (bench, "page near the end (sort=email)", TRUE, PAGE_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?sort=email&after=%" G_GINT64_FORMAT "&limit=%d",
              id, bench->email_near_end, PAGE_LIMIT);
  add_figure (bench, "search name q=" NAME_FRAGMENT, TRUE, SEARCH_TARGET_MS, bench->expected_name,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=" NAME_FRAGMENT "&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "search email q=<fragment>", TRUE, SEARCH_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=%s&limit=%d", id, email_q, PAGE_LIMIT);
  add_figure (bench, "status=accepted first page", TRUE, PAGE_TARGET_MS, bench->expected_accepted,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?status=accepted&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "status=accepted near the end", TRUE, PAGE_TARGET_MS, bench->expected_accepted,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?status=accepted&after=%" G_GINT64_FORMAT "&limit=%d",
              id, bench->accepted_near_end, PAGE_LIMIT);

  /* Beyond the list: what an organizer also types. */
  add_figure (bench, "first page sort=-name", FALSE, PAGE_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?sort=-name&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "search q=" NAME_FRAGMENT " sort=name", FALSE, SEARCH_TARGET_MS, bench->expected_name,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=" NAME_FRAGMENT "&sort=name&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "broad search q=" BROAD_NAME_FRAGMENT, FALSE, SEARCH_TARGET_MS, bench->expected_broad_name,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=" BROAD_NAME_FRAGMENT "&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "broad search q=" BROAD_EMAIL_FRAGMENT, FALSE, SEARCH_TARGET_MS, bench->expected_broad_email,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=" BROAD_EMAIL_FRAGMENT "&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "2-letter search q=wu", FALSE, SEARCH_TARGET_MS, -1,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?q=wu&limit=%d", id, PAGE_LIMIT);
  add_figure (bench, "small later event: first page", FALSE, PAGE_TARGET_MS, SMALL_EVENT_GUESTS,
              "/api/v1/events/%" G_GINT64_FORMAT "/guests?limit=%d", bench->small_event_id, PAGE_LIMIT);

  g_print ("\nTiming %u requests each (after %d warm-up requests) over one keep-alive connection\n",
           bench->repeat, WARM_UP);
  g_print ("%-34s %9s %9s %9s %9s %7s %8s  %s\n",
           "figure", "cold ms", "median", "p95", "max", "items", "total", "path");
  for (guint i = 0; i < bench->figures->len; i++)
    {
      Figure *figure = g_ptr_array_index (bench->figures, i);

      if (!measure (bench, figure, error))
        return FALSE;
      g_print ("%-34s %9.2f %9.2f %9.2f %9.2f %7u %8" G_GINT64_FORMAT "  %s\n",
               figure->label, figure->cold_ms,
               percentile (figure->samples, 0.5), percentile (figure->samples, 0.95),
               percentile (figure->samples, 1.0),
               figure->n_items, figure->total, figure->path);
      if (figure->expected >= 0 && figure->total != figure->expected)
        g_print ("  note: the fill wrote %" G_GINT64_FORMAT " matching guests, the answer says %" G_GINT64_FORMAT "\n",
                 figure->expected, figure->total);
    }

  if (!read_memory (bench, &rss_mb, &hwm_mb))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot read the memory of eventdeskd from /proc (did it exit?)");
      return FALSE;
    }
  g_print ("\neventdeskd memory: VmRSS %.1f MB after the runs (%.1f MB after start), "
           "VmHWM (peak) %.1f MB\n", rss_mb, rss_start, hwm_mb);

  g_print ("\nSummary (%d guests; a time passes when its p95 is under the target)\n", bench->n_guests);
  g_print ("%-34s %10s %9s %9s %9s  %s\n", "figure", "target", "median", "p95", "max", "result");
  *all_passed = TRUE;
  for (gint pass = 0; pass < 2; pass++)
    {
      gboolean core = pass == 0;

      g_print ("%s\n", core ? "-- targets of the issue" : "-- beyond the issue (information)");
      for (guint i = 0; i < bench->figures->len; i++)
        {
          Figure *figure = g_ptr_array_index (bench->figures, i);
          double p95 = percentile (figure->samples, 0.95);
          gboolean passed = p95 < figure->target_ms;

          if (figure->core != core)
            continue;
          if (core && !passed)
            *all_passed = FALSE;
          g_print ("%-34s %7.0f ms %9.2f %9.2f %9.2f  %s\n", figure->label, figure->target_ms,
                   percentile (figure->samples, 0.5), p95, percentile (figure->samples, 1.0),
                   pass_or_fail (passed));
        }
      if (core)
        {
          g_print ("%-34s %7.0f MB %9s %9.1f %9s  %s\n", "daemon VmRSS after the runs",
                   MEMORY_TARGET_MB, "", rss_mb, "", pass_or_fail (rss_mb < MEMORY_TARGET_MB));
          g_print ("%-34s %7.0f MB %9s %9.1f %9s  %s\n", "daemon VmHWM (peak resident)",
                   MEMORY_TARGET_MB, "", hwm_mb, "", pass_or_fail (hwm_mb < MEMORY_TARGET_MB));
          if (hwm_mb >= MEMORY_TARGET_MB)
            *all_passed = FALSE;
        }
    }

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Bench) bench = { 0 };
  g_autofree char *eventdeskd = NULL;
  gboolean all_passed = FALSE;
  const GOptionEntry entries[] = {
    { "eventdeskd", 0, 0, G_OPTION_ARG_FILENAME, &eventdeskd,
      "The daemon to run (default: $EVENTDESKD, else the one in the build tree)", "PATH" },
    { "guests", 0, 0, G_OPTION_ARG_INT, &bench.n_guests, "Guests in the event (default 500000)", "N" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &bench.repeat, "Timed requests per figure (default 50)", "N" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &bench.keep, "Keep the data directory", NULL },
    { NULL }
  };

  context = g_option_context_new ("— time eventdeskd's guest list with 500,000 guests");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-guests: %s\n", error->message);
      return 2;
    }

  if (eventdeskd == NULL && g_getenv ("EVENTDESKD") != NULL)
    eventdeskd = g_strdup (g_getenv ("EVENTDESKD"));
  if (eventdeskd == NULL)
    eventdeskd = g_strdup (EVENTDESKD_PATH);
  if (!g_file_test (eventdeskd, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-guests: %s is not an executable; pass --eventdeskd PATH\n", eventdeskd);
      return 2;
    }
  bench.eventdeskd = g_steal_pointer (&eventdeskd);
  if (bench.n_guests <= 0)
    bench.n_guests = DEFAULT_GUESTS;
  if (bench.n_guests < 1000)
    {
      g_printerr ("bench-guests: --guests must be at least 1000\n");
      return 2;
    }
  if (bench.repeat <= 0)
    bench.repeat = DEFAULT_REPEAT;
  bench.figures = g_ptr_array_new_with_free_func ((GDestroyNotify) figure_free);

  if (!(bench.data_dir = g_dir_make_tmp ("eventdesk-bench-XXXXXX", &error)))
    {
      g_printerr ("bench-guests: %s\n", error->message);
      return 2;
    }
  g_print ("Data directory %s\n", bench.data_dir);

  if (!fill_store (&bench, &error) ||
      !start_daemon (&bench, &error) ||
      !log_in (&bench, &error) ||
      !run_figures (&bench, &all_passed, &error))
    {
      g_printerr ("bench-guests: %s\n", error->message);
      return 2;
    }

  g_print ("\n%s\n", all_passed ? "All targets met." : "Some targets were missed.");
  return all_passed ? 0 : 1;
}
