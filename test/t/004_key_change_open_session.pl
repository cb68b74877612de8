# A master key taken out of the configuration stops decrypting at once,
# also in sessions that were already open and had unwrapped data keys
# cached: a reload flushes every backend's data-key cache.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use File::Basename qw(dirname);
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node write_key);

my ($node, $keyfile) = new_node('keychange', start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('42', '2015-05-01');
	CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name": "name"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES (42, '小明');
});

my $session = $node->background_psql('postgres', on_error_stop => 0);
$session->query_safe(q{SET childguard.purpose = 'regress'});
is($session->query_safe('SELECT name FROM students'), '小明',
	'open session reads plaintext under the configured key');

# replace the key with an unrelated one and reload, without a restart
my $other = write_key(dirname($keyfile) . '/other.key');
$node->append_conf('postgresql.conf', "childguard.master_key_file = '$other'");
$node->reload;
# the reload reaches the backend at its next command
$session->query(q{SELECT 1});

my ($out, $failed) = $session->query(q{\set VERBOSITY verbose
SELECT name FROM students});
ok($failed, 'the same session cannot decrypt any more after the key changed');
like($session->{stderr}, qr/ZC002/, 'it fails with ZC002 (data key wrapped by a key not configured)');
unlike($out // '', qr/小明/, 'and no plaintext is returned');

$session->quit;

$node->stop;
done_testing();
