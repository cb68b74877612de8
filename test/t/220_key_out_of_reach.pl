# The supported deployment (docs/keys.md, "Threat model"): the master key is
# handed to the server once at start and is then out of reach.
#   (a) key file removed after start: reloads and new sessions keep working,
#       because a reload that changes no key setting reads nothing again;
#   (b) a key command that hands the key out once: the server starts with it,
#       keeps working across reloads, and a superuser who runs the same
#       command later through COPY ... PROGRAM gets nothing;
#   (c) a role holding every server-file privilege but superuser gets
#       neither the key (COPY, file functions) nor the wrapped data keys.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use File::Basename qw(dirname);
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node write_key random_key_hex);

my ($node, $keyfile) = new_node('out_of_reach', start => 1);
my $keydir = dirname($keyfile);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('42', '2015-05-01');
	CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name": "name"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; INSERT INTO students VALUES (42, '小明');});
my $read = q{SET childguard.purpose = 'regress'; SELECT name FROM students WHERE id = 42;};

# (a) the key file goes away once the server is up
my $hex = do { local $/; open my $fh, '<', $keyfile or die; <$fh> };
chomp $hex;
unlink $keyfile or die "unlink: $!";
$node->reload;
$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
is($node->safe_psql('postgres', $read), '小明', '(a) file removed, after a reload: reads work');
is($node->safe_psql('postgres', q{SELECT childguard.register_child('43', '2016-01-01') > 0}),
	't', '(a) file removed, after a reload: new data keys are wrapped');

# (b) a command that hands the key out once (a one-time token, consumed)
$node->stop;
my $token = "$keydir/one-time-token";
write_key($token, $hex);
my $script = "$keydir/fetch-key.sh";
open my $sh, '>', $script or die;
print $sh "#!/bin/sh\n[ -f '$token' ] || exit 1\ncat '$token' && rm -f '$token'\n";
close $sh;
chmod 0700, $script;
$node->adjust_conf('postgresql.conf', 'childguard.master_key_file', undef);
$node->append_conf('postgresql.conf', "childguard.master_key_command = '$script'\n");
$node->start;
ok(!-e $token, '(b) the command consumed its one-time token at start');
is($node->safe_psql('postgres', $read), '小明', '(b) started from the command: reads work');
$node->reload;
$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
is($node->safe_psql('postgres', $read), '小明', '(b) after a reload: reads work (the command is not run again)');
my ($ret, $out, $err) = $node->psql('postgres',
	"CREATE TEMP TABLE k (t text); COPY k FROM PROGRAM '$script'; SELECT count(*) FROM k;");
isnt($ret, 0, '(b) a superuser running the command later gets nothing');

# (c) every server-file privilege but superuser
$node->safe_psql('postgres', q{
	CREATE ROLE filer LOGIN IN ROLE pg_read_server_files, pg_write_server_files,
	                                pg_execute_server_program, pg_read_all_data;
	GRANT EXECUTE ON FUNCTION pg_read_file(text), lo_import(text) TO filer;
	CREATE TABLE loot (t text);
	GRANT INSERT ON loot TO filer;
});
for my $sql ("COPY loot FROM PROGRAM '$script'",
	"SELECT pg_read_file('$script')",
	"SELECT lo_import('$script')",
	"COPY loot FROM '$script'")
{
	($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', 'filer' ]);
	like($err, qr/ZC04[012]|cannot (read|run|call)/, "(c) refused: $sql");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM childguard.data_key',
		extra_params => [ '-U', 'filer' ]),
	'0', '(c) pg_read_all_data sees no wrapped data key');
isnt($node->safe_psql('postgres', 'SELECT count(*) FROM childguard.data_key'),
	'0', '(c) the superuser does');

# (d) a key file that is a symbolic link: both the directory named in the
# setting and the one the link leads to are out of reach
$node->stop;
mkdir "$keydir/real" or die;
mkdir "$keydir/conf" or die;
write_key("$keydir/real/k.key", $hex);
symlink("$keydir/real/k.key", "$keydir/conf/master.key") or die "symlink: $!";
for my $f ("$keydir/real/other.txt", "$keydir/conf/notes.txt")
{
	open my $fh, '>', $f or die;
	print $fh "not a key\n";
	close $fh;
	chmod 0644, $f;
}
$node->adjust_conf('postgresql.conf', 'childguard.master_key_command', undef);
$node->append_conf('postgresql.conf', "childguard.master_key_file = '$keydir/conf/master.key'\n");
$node->start;
is($node->safe_psql('postgres', $read), '小明', '(d) started from a symlinked key file');
for my $f ("$keydir/conf/notes.txt", "$keydir/real/other.txt", "$keydir/conf/master.key")
{
	($ret, $out, $err) = $node->psql('postgres', "COPY loot FROM '$f'",
		extra_params => [ '-U', 'filer' ]);
	like($err, qr/cannot read or write a server file that holds childguard key material/,
		"(d) refused: COPY FROM $f");
}

$node->stop;
done_testing();
