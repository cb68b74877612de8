# The size limit of a child_data value at its real size (docs/keys.md
# "Limits"; issue 9: values of about 716 MB failed with XX000, an integer
# overflow in base64 length arithmetic).  Allocates a few GB in one
# backend, hence make check-long; sql/value_size.sql tests the same checks
# on small values under a lowered childguard.max_value_size.
#
#   - exactly 512 MiB of plaintext is stored, read back, shown as an
#     envelope and taken back from it (the envelope's text is ~683 MiB);
#     also in the unpadded format 1;
#   - 512 MiB + 1 byte, 716 MB, and an envelope text beyond the longest
#     valid one are refused with ZC045, never XX000, and change nothing.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my $max = 512 * 1024 * 1024;
my ($node) = ChildguardNode::new_node('size', start => 1);
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('1', '2014-03-01');
	CREATE TABLE files (id bigint, n int, content childguard.child_data(image));
	SELECT childguard.protect('files', 'id');
});
ChildguardNode::consent_all($node, 'postgres');

# sql($sql) -> (stdout, SQLSTATE of the error or '')
sub sql
{
	my ($q) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $q, stdout => \$out, stderr => \$err,
		extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
	my ($code) = $err =~ /ERROR:\s+([0-9A-Z]{5})/;
	return ($out, $code // '');
}

my ($out, $code) = sql(qq{SET childguard.purpose = 'regress';
	INSERT INTO files VALUES (1, 1, repeat('x', $max))});
is($code, '', 'exactly 512 MiB of plaintext is stored');

($out, $code) = sql(q{SET childguard.purpose = 'regress';
	SELECT octet_length(content::text), content::text = repeat('x', 512 * 1024 * 1024)
	  FROM files WHERE n = 1});
is("$out $code", "$max|t ", 'and reads back whole');

# format 2 pads 4 + 512 MiB to the next multiple of 64 KiB
my $envelope_len = 4 + int(($max + 65536 + 44 + 2) / 3) * 4;
($out, $code) = sql(q{SELECT length(childguard.envelope(content)) FROM files WHERE n = 1});
is("$out $code", "$envelope_len ", "its envelope text is $envelope_len characters");

($out, $code) = sql(q{INSERT INTO files SELECT id, 2, childguard.envelope(content)::childguard.child_data
	FROM files WHERE n = 1});
is($code, '', 'the envelope text is taken back (a restore)');
($out, $code) = sql(q{SET childguard.purpose = 'regress';
	SELECT octet_length(content::text) FROM files WHERE n = 2});
is("$out $code", "$max ", 'and decrypts to the same 512 MiB');

# format 1 (unpadded, as 1.0 wrote it)
($out, $code) = sql(qq{SET childguard.purpose = 'regress';
	SET childguard.envelope_format_version = 1;
	INSERT INTO files VALUES (1, 4, repeat('y', $max))});
is($code, '', 'format 1: exactly 512 MiB is stored');
my $envelope1_len = 4 + int(($max + 44 + 2) / 3) * 4;
($out, $code) = sql(q{SELECT length(childguard.envelope(content)) FROM files WHERE n = 4});
is("$out $code", "$envelope1_len ", "format 1: its envelope text is $envelope1_len characters");
($out, $code) = sql(q{INSERT INTO files SELECT id, 5, childguard.envelope(content)::childguard.child_data
	FROM files WHERE n = 4});
is($code, '', 'format 1: the envelope text is taken back');
($out, $code) = sql(q{SET childguard.purpose = 'regress';
	SELECT octet_length(content::text), (childguard.envelope_info(content)).format_version
	  FROM files WHERE n = 5});
is("$out $code", "$max|1 ", 'format 1: and decrypts to the same 512 MiB');
sql(q{DELETE FROM files WHERE n IN (4, 5)});

for my $case ([ '512 MiB + 1 byte', $max + 1 ], [ '716 MB', 716_000_000 ])
{
	my ($name, $len) = @$case;
	($out, $code) = sql(qq{SET childguard.purpose = 'regress';
		INSERT INTO files VALUES (1, 3, repeat('x', $len))});
	is($code, 'ZC045', "$name of plaintext: refused with ZC045");
}
my $too_long_text = $envelope_len + 4 * int((1024 * 1024) / 3) + 8;
($out, $code) = sql(qq{SELECT ('cg1:' || repeat('A', $too_long_text))::childguard.child_data IS NULL});
is($code, 'ZC045', 'an envelope text longer than any valid one: ZC045 before decoding');
($out, $code) = sql(q{SELECT count(*) FROM files});
is("$out $code", '2 ', 'the refused values changed nothing');

$node->stop;
done_testing();
